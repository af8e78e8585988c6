"""When feedback must be answered: by severity, counted in the team's time zone.

High and normal severity run for a number of hours from receipt (24 and 72 by default). Low
severity runs for whole days: it is due at the end of the team's local day that many days
after the day it came in (received on Monday at 23:30, seven days: due when the next Monday
ends, at midnight in the team's zone).
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.voice.models import Severity


def due_at(received_at: datetime, severity: Severity, settings, zone: ZoneInfo) -> datetime:
    """`zone` is the team's (crm.clock.team_zone)."""
    if severity == Severity.HIGH:
        return received_at + timedelta(hours=settings.high_hours)
    if severity == Severity.NORMAL:
        return received_at + timedelta(hours=settings.normal_hours)
    local_day = received_at.astimezone(zone).date()
    end = datetime.combine(local_day + timedelta(days=settings.low_days + 1), time(0),
                           tzinfo=zone)
    return end.astimezone(received_at.tzinfo)


def clock_parts(due: datetime, now: datetime) -> tuple[bool, int, int]:
    """(overdue, hours, minutes) between now and the deadline, for the clock on the page."""
    delta = due - now if due > now else now - due
    minutes = int(delta.total_seconds() // 60)
    return due <= now, minutes // 60, minutes % 60
