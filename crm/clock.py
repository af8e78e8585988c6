"""What time it is and which time zones users may pick; times are stored in UTC."""

from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def common_timezones() -> tuple[str, ...]:
    """Zones offered in forms: the region's first, then every IANA zone."""
    first = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
             "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC"]
    rest = sorted(z for z in available_timezones() if "/" in z and z not in first
                  and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")))
    return tuple(first + rest)


def team_zone(team, *, strict: bool = False) -> ZoneInfo:
    """The zone a team's days are counted in (Team.timezone, set in Admin → Teams): goals,
    the dashboard, reports, customer's voice deadlines and surveys and team-wide alerts all
    read it here. Pages fall back to the configured default on a zone that is not known; a
    report job (`strict`) fails and says so."""
    from flask import current_app

    from crm.accounts.models import TEAM_DEFAULTS

    name = team.timezone if team is not None else None
    if not name or not is_valid_timezone(name):
        if strict and team is not None and name:
            raise ValueError(f"the team's time zone {name!r} is not a known zone")
        name = current_app.config.get("DEFAULT_TIMEZONE") or TEAM_DEFAULTS.timezone
    return ZoneInfo(name)


def user_zone() -> ZoneInfo:
    """The time zone this request is shown in (the user's setting or the default), as
    Flask-Babel selected it; outside a request, the configured default."""
    from flask_babel import get_timezone

    return ZoneInfo(str(get_timezone()))


def local_now() -> datetime:
    return utcnow().astimezone(user_zone())


def local_today() -> date:
    """The user's calendar day."""
    return local_now().date()


def local_midnight(days_ago: int = 0) -> datetime:
    """The start of the user's day, `days_ago` days back, as an aware datetime."""
    start = local_now().replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=days_ago) if days_ago else start


def from_local(naive: datetime) -> datetime:
    """A wall-clock time the user typed, in their zone."""
    return naive.replace(tzinfo=user_zone())


def local_wall_clock() -> datetime:
    """Now as the user's clock shows it, to the minute, for a form's default."""
    return local_now().replace(second=0, microsecond=0, tzinfo=None)


@lru_cache(maxsize=4)
def _zone_labels(locale: str, day: date) -> tuple[tuple[str, str], ...]:
    from babel.dates import get_timezone_location, get_timezone_name

    labelled = []
    for zone in common_timezones():
        name = get_timezone_name(zone, width="long", locale=locale, zone_variant="standard")
        city = get_timezone_location(zone, locale=locale, return_city=True)
        offset = datetime.now(ZoneInfo(zone)).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign, hours_minutes = ("+" if minutes >= 0 else "-"), divmod(abs(minutes), 60)
        label = f"(UTC{sign}{hours_minutes[0]:02d}:{hours_minutes[1]:02d}) {name}"
        if city and city != zone:
            label += f" — {city}"
        labelled.append((minutes, zone, label))
    first = [(zone, label) for _minutes, zone, label in labelled[:10]]
    rest = [(zone, label) for _minutes, zone, label in sorted(labelled[10:])]
    return tuple(first + rest)


def timezone_choices() -> tuple[tuple[str, str], ...]:
    """Zones as people know them, "(UTC+08:00) China Standard Time — Shanghai", in the
    reader's language: the region's first, then the rest by offset (a select finds them by
    typing). Offsets are today's, so summer time shows when it applies."""
    from crm.i18n import current_locale

    return _zone_labels("zh_Hans_CN" if current_locale() == "zh_CN" else "en", utcnow().date())
