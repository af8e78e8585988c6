"""What time it is and which time zones users may pick; times are stored in UTC."""

from datetime import UTC, datetime
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
