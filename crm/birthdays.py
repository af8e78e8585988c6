"""When a birthday next falls: on the solar calendar, or on the lunar (农历) one.

A lunar birthday is stored as the solar date of birth; each year it falls on the same lunar
month and day. A leap-month birthday is kept in the ordinary month of that number, and a 30th
in a month of 29 days falls on the 29th, as families usually keep them.
"""

from datetime import date, timedelta

from lunardate import LunarDate


def _solar_in_year(birthday: date, year: int) -> date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year: kept on 28 February
        return date(year, 2, 28)


def _lunar_in_year(lunar_month: int, lunar_day: int, lunar_year: int) -> date:
    for day in (lunar_day, 29):
        try:
            return LunarDate(lunar_year, lunar_month, day).to_solar_date()
        except ValueError:
            continue
    raise ValueError("no such lunar date")


def next_birthday(birthday: date, lunar: bool, on_or_after: date) -> date:
    """The first date on or after `on_or_after` on which the birthday falls."""
    if not lunar:
        this_year = _solar_in_year(birthday, on_or_after.year)
        return this_year if this_year >= on_or_after else _solar_in_year(
            birthday, on_or_after.year + 1)
    born = LunarDate.from_solar_date(birthday.year, birthday.month, birthday.day)
    start = LunarDate.from_solar_date(on_or_after.year, on_or_after.month, on_or_after.day).year
    for lunar_year in (start - 1, start, start + 1):
        candidate = _lunar_in_year(born.month, born.day, lunar_year)
        if candidate >= on_or_after:
            return candidate
    raise ValueError("no birthday found")  # unreachable: a lunar year is under 400 days


def falls_within(birthday: date, lunar: bool, first: date, days: int) -> date | None:
    """The birthday's date if it falls in [first, first + days), else None."""
    upcoming = next_birthday(birthday, lunar, first)
    return upcoming if upcoming < first + timedelta(days=days) else None
