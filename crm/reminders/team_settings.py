"""A team's reminder settings and work-chat robot, as the team form saves them."""

from crm.reminders.models import CHAT_CHANNELS

REMINDER_FIELDS = ("followup_overdue_days", "followup_escalate_days", "revisit_days",
                   "revisit_every_days", "birthday_days", "drought_days", "chat_channel",
                   "chat_webhook_url", "chat_secret")


def set_reminder_settings(team, values: dict) -> None:
    """Numbers and the revisit days left empty keep what the team has; the robot's address
    and secret left empty keep the saved ones; no robot chosen forgets both."""
    for name in ("followup_overdue_days", "followup_escalate_days", "revisit_every_days",
                 "birthday_days", "drought_days"):
        if values.get(name) is not None:
            setattr(team, name, values[name])
    if values.get("revisit_days"):
        days = sorted({int(d) for d in values["revisit_days"].replace("，", ",").split(",")
                       if d.strip()})
        team.revisit_days = ",".join(str(d) for d in days)
    channel = values.get("chat_channel") or None
    if channel not in {c.value for c in CHAT_CHANNELS}:
        team.chat_channel = team.chat_webhook_url = team.chat_secret = None
        return
    team.chat_channel = channel
    if values.get("chat_webhook_url"):
        team.chat_webhook_url = values["chat_webhook_url"].strip()
    if values.get("chat_secret"):
        team.chat_secret = values["chat_secret"].strip()
