"""Deliveries: the morning e-mail digest and work-chat messages, each a row sent once.

A sweep plans the rows (one `INSERT … SELECT`, a unique dedupe key per person and day or per
team and alert); `deliver_due` sends what is due. A row is claimed (status "sending" with a
lease) and committed before the send, and marked sent right after, so two workers never send
the same row; a failed send keeps its error and waits 1, 2, 4, 8… minutes before the next
attempt, up to MAX_ATTEMPTS, and an administrator may send it again from the System page.
"""

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, literal, not_, or_, select, update
from sqlalchemy.orm import aliased

from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.columns import UTCDateTime
from crm.extensions import db
from crm.notifications.models import Notification
from crm.reminders import chat, texts
from crm.reminders.models import (
    DEFAULT_DIGEST_MINUTE,
    Channel,
    Delivery,
    DeliveryStatus,
    ReminderPreference,
)
from crm.reminders.preferences import off_kinds, preferences_of
from crm.reminders.sweeps import Calendar, calendar, key, zone_of
from crm.sql import insert_or_ignore

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=5)
DIGEST_LIMIT = 50


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


# Planning ------------------------------------------------------------------------------

def plan_digests(cal: Calendar | None = None) -> int:
    """One digest per person per local day, once their chosen time has come (not on their
    quiet days); only when SMTP is configured."""
    if not smtp_configured():
        return 0
    cal = cal or calendar()
    z = cal.zones
    preference = aliased(ReminderPreference)
    quiet = (literal(",").concat(func.coalesce(preference.quiet_days, "")).concat(literal(","))
             .like(literal("%,").concat(z.c.weekday.cast(db.String)).concat(literal(",%"))))
    rows = (select(literal(Channel.EMAIL.value), key("digest", User.id, z.c.today), User.id,
                   literal(DeliveryStatus.PENDING.value), literal(cal.now, UTCDateTime),
                   literal(cal.now, UTCDateTime))
            .select_from(User).join(z, z.c.zone == zone_of(cal, User))
            .outerjoin(preference, preference.user_id == User.id)
            .where(User.active.is_(True), User.email.is_not(None),
                   func.coalesce(preference.digest_enabled, True).is_(True),
                   z.c.minute >= func.coalesce(preference.digest_minute, DEFAULT_DIGEST_MINUTE),
                   not_(quiet)))
    statement = (insert_or_ignore(Delivery, ["dedupe_key"]).from_select(
        ["channel", "dedupe_key", "user_id", "status", "next_attempt_at", "created_at"], rows)
        .returning(Delivery.id))
    return len(db.session.execute(statement).all())


# Sending -------------------------------------------------------------------------------

def _claimable(now: datetime):
    return or_(and_(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now),
               and_(Delivery.status == DeliveryStatus.SENDING, Delivery.locked_until < now))


def due_ids(now: datetime, limit: int = 100) -> list[int]:
    return list(db.session.scalars(select(Delivery.id).where(_claimable(now))
                                   .order_by(Delivery.next_attempt_at, Delivery.id)
                                   .limit(limit)))


def claim(delivery_id: int, now: datetime) -> bool:
    """Take the row for one attempt (the caller commits before sending): of two workers
    only one claims it."""
    claimed = db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id, _claimable(now))
        .values(status=DeliveryStatus.SENDING, locked_until=now + LEASE,
                attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def attempt(delivery_id: int, now: datetime) -> str:
    """Send a claimed row and record the outcome on it: "sent", "empty" or "failed"."""
    delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
    try:
        sent = _send(delivery)
    except Exception as error:  # noqa: BLE001 - any failure is kept on the row and retried
        reason = str(error) if isinstance(error, chat.SendFailed) else type(error).__name__
        delivery.last_error = reason[:300]
        delivery.locked_until = None
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now + timedelta(minutes=2 ** (delivery.attempts - 1))
        current_app.logger.warning("delivery %s (%s) failed: %s", delivery.id,
                                   delivery.channel, delivery.last_error)
        return "failed"
    delivery.status = DeliveryStatus.SENT if sent else DeliveryStatus.EMPTY
    delivery.sent_at = utcnow() if sent else None
    delivery.locked_until = None
    delivery.last_error = None
    return "sent" if sent else "empty"


def _send(delivery: Delivery) -> bool:
    if delivery.channel == Channel.EMAIL:
        return send_digest(delivery)
    team = db.session.get(Team, delivery.team_id)
    if team is None or not team.chat_webhook_url:
        raise chat.SendFailed("the team has no work-chat robot")
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "zh_CN"):
        text = chat_text(delivery)
    chat.post(team.chat_channel, team.chat_webhook_url, team.chat_secret, text)
    return True


def chat_text(delivery: Delivery) -> str:
    """A team alert, without customers' names (the chat is another company's service)."""
    note = Notification(kind=delivery.kind, params=delivery.params or {}, customer_id=None)
    names = {"customers": {}, "contacts": {}, "tasks": {}}
    text = texts.describe(note, names, utcnow().date())
    link = current_app.config.get("PUBLIC_URL")
    return f"{text}\n{link}/notifications" if link else text


# The digest ----------------------------------------------------------------------------

def digest_items(user: User, since: datetime | None) -> list[str]:
    """The sentences of the user's digest: unread notifications of the kinds they chose,
    made since the last digest (or the last day)."""
    preference = preferences_of(user.id)
    query = (select(Notification).where(Notification.user_id == user.id,
                                        Notification.read_at.is_(None),
                                        Notification.created_at >= since)
             .order_by(Notification.created_at, Notification.id).limit(DIGEST_LIMIT))
    skipped = off_kinds(preference)
    if skipped:
        query = query.where(Notification.kind.not_in(skipped))
    notifications = list(db.session.scalars(query))
    names = texts.names_for(user, notifications)
    today = utcnow().date()
    return [texts.describe(n, names, today) for n in notifications]


def _previous_digest_at(user_id: int, before_id: int) -> datetime | None:
    return db.session.scalar(select(func.max(Delivery.sent_at)).where(
        Delivery.user_id == user_id, Delivery.channel == Channel.EMAIL,
        Delivery.status == DeliveryStatus.SENT, Delivery.id != before_id))


def send_digest(delivery: Delivery) -> bool:
    """Compose and send one digest; False when there is nothing to say (nothing is sent)."""
    user = db.session.get(User, delivery.user_id)
    if user is None or not user.active or not user.email:
        return False
    since = _previous_digest_at(user.id, delivery.id) or (utcnow() - timedelta(days=1))
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE") or "zh_CN"
    with force_locale(locale):
        items = digest_items(user, since)
        if not items:
            return False
        message = EmailMessage()
        message["Subject"] = _("Your reminders for today")
        message["From"] = current_app.config["MAIL_FROM"]
        message["To"] = user.email
        lines = [_("Hello, %(name)s", name=user.name), ""]
        lines += [f"• {item}" for item in items]
        link = current_app.config.get("PUBLIC_URL")
        if link:
            lines += ["", _("Open the app: %(url)s", url=f"{link}/notifications")]
        lines += ["", _("You receive this digest every morning; change it under Notifications "
                        "→ Preferences.")]
        message.set_content("\n".join(lines))
    send_mail(message)
    return True


def send_mail(message: EmailMessage) -> None:
    """Through SMTP_URL: smtp://[user:password@]host[:port][?starttls=1] or smtps://…"""
    parts = urlsplit(current_app.config["SMTP_URL"])
    secure = parts.scheme == "smtps"
    port = parts.port or (465 if secure else 25)
    options = parse_qs(parts.query)
    if secure:
        client = smtplib.SMTP_SSL(parts.hostname, port, timeout=20,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=20)
    with client:
        if not secure and options.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


# By hand and from the System page ------------------------------------------------------

def manual_digest(email: str) -> Delivery:
    """A digest row for `reminders digest --email ADDRESS`, due now."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        raise LookupError(email)
    now = utcnow()
    delivery = Delivery(channel=Channel.EMAIL, user_id=user.id, status=DeliveryStatus.PENDING,
                        dedupe_key=f"digest:{user.id}:now:{now.isoformat()}",
                        next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    db.session.flush()
    return delivery


def retry_now(delivery_id: int) -> bool:
    result = db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.status.in_(
            (DeliveryStatus.FAILED, DeliveryStatus.PENDING)))
        .values(status=DeliveryStatus.PENDING, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)


def troubled(limit: int = 20) -> list[Delivery]:
    """For the System page: deliveries that failed or wait to be tried again."""
    return list(db.session.scalars(
        select(Delivery).where(Delivery.last_error.is_not(None), Delivery.status.in_(
            (DeliveryStatus.FAILED, DeliveryStatus.PENDING)))
        .order_by(Delivery.status, Delivery.next_attempt_at.desc()).limit(limit)))
