"""Each user's reminder preferences: a row only once they save; the defaults until then."""

from crm.extensions import db
from crm.notifications.models import NotificationKind
from crm.reminders.models import DEFAULT_DIGEST_MINUTE, ReminderPreference


def preferences_of(user_id: int) -> ReminderPreference:
    """The saved row, or an unsaved one holding the defaults (a GET stores nothing)."""
    saved = db.session.get(ReminderPreference, user_id)
    if saved is not None:
        return saved
    return ReminderPreference(user_id=user_id, digest_enabled=True,
                              digest_minute=DEFAULT_DIGEST_MINUTE, digest_off_kinds="",
                              quiet_days="", version=0)


def off_kinds(preference: ReminderPreference) -> set[str]:
    return {k for k in (preference.digest_off_kinds or "").split(",") if k}


def save_preferences(user_id: int, *, digest_enabled: bool, digest_minute: int,
                     digest_kinds: list[str], quiet_days: list[int]) -> ReminderPreference:
    preference = db.session.get(ReminderPreference, user_id)
    if preference is None:
        preference = ReminderPreference(user_id=user_id)
        db.session.add(preference)
    chosen = set(digest_kinds)
    preference.digest_enabled = bool(digest_enabled)
    preference.digest_minute = max(0, min(24 * 60 - 1, int(digest_minute)))
    preference.digest_off_kinds = ",".join(k.value for k in NotificationKind
                                           if k.value not in chosen)
    preference.quiet_days = ",".join(str(d) for d in sorted(set(quiet_days)) if 1 <= d <= 7)
    return preference
