"""What time it is and which time zones users may pick; times are stored in UTC."""

from datetime import UTC, date, datetime, timedelta
from functools import cache
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
