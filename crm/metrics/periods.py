"""Periods in a team's time zone: a day, a week (Monday first), a month, a quarter, a year or
a custom range of local days, and the UTC instants that bound them."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

KINDS = ("day", "week", "month", "quarter", "year", "custom")
KIND_LABELS = {"day": _l("Today"), "week": _l("This week"), "month": _l("This month"),
               "quarter": _l("This quarter"), "year": _l("This year"),
               "custom": _l("Custom range")}
MAX_CUSTOM_DAYS = 366


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first local day
    end: date  # the local day after the last

    @classmethod
    def containing(cls, kind: str, day: date) -> "Period":
        if kind == "day":
            return cls(kind, day, day + timedelta(days=1))
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=7))
        if kind == "month":
            start = day.replace(day=1)
            return cls(kind, start, add_months(start, 1))
        if kind == "quarter":
            start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
            return cls(kind, start, add_months(start, 3))
        if kind == "year":
            start = date(day.year, 1, 1)
            return cls(kind, start, date(day.year + 1, 1, 1))
        raise ValueError(kind)

    @classmethod
    def custom(cls, first: date, last: date) -> "Period":
        if last < first:
            first, last = last, first
        last = min(last, first + timedelta(days=MAX_CUSTOM_DAYS - 1))
        return cls("custom", first, last + timedelta(days=1))

    def previous(self) -> "Period":
        return Period.containing(self.kind, self.start - timedelta(days=1)) \
            if self.kind != "custom" else Period.custom(
                self.start - (self.end - self.start), self.start - timedelta(days=1))

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        return local_midnight(self.start, zone), local_midnight(self.end, zone)

    def elapsed(self, today: date) -> float:
        """The share of the period gone by the end of `today` (0 to 1)."""
        total = (self.end - self.start).days
        done = (min(max(today, self.start - timedelta(days=1)), self.last) - self.start).days + 1
        return max(0.0, min(1.0, done / total))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(UTC).astimezone(zone).date()


def parse_period(args, zone: ZoneInfo, default: str = "month") -> Period:
    """The period a page's query string asks for (?period=week, or ?period=custom&from=…&to=…);
    anything unreadable falls back to the default rather than failing."""
    kind = args.get("period", default)
    today = today_in(zone)
    if kind == "custom":
        try:
            first = date.fromisoformat(args.get("from", ""))
            last = date.fromisoformat(args.get("to", ""))
        except ValueError:
            kind = default
        else:
            if date(2000, 1, 1) <= first <= date(2100, 1, 1) and \
                    date(2000, 1, 1) <= last <= date(2100, 1, 1):
                return Period.custom(first, last)
            kind = default
    if kind not in KINDS or kind == "custom":
        kind = default
    return Period.containing(kind, today)
