"""The customer's voice in a customer's export and erasure: feedback and its change history,
survey answers, greetings and gifts. Registered with crm.privacy on import."""

from sqlalchemy import select, update

from crm.extensions import db
from crm.privacy import erasure, export
from crm.voice.models import CareGesture, Feedback, FeedbackEvent, Survey

# Events whose from/to values are free text (a resolution's earlier wording).
TEXT_FIELDS = ("resolution",)


def _feedback(cid: int) -> list[dict]:
    return export.rows(select(Feedback).where(Feedback.customer_id == cid).order_by(Feedback.id))


def _feedback_events(cid: int) -> list[dict]:
    return export.rows(select(FeedbackEvent).where(FeedbackEvent.customer_id == cid)
                       .order_by(FeedbackEvent.at, FeedbackEvent.id))


def _surveys(cid: int) -> list[dict]:
    rows = export.rows(select(Survey).where(Survey.customer_id == cid).order_by(Survey.id))
    for row in rows:
        row.pop("nonce", None)  # the link's secret says nothing about the person
    return rows


def _care(cid: int) -> list[dict]:
    return export.rows(select(CareGesture).where(CareGesture.customer_id == cid)
                       .order_by(CareGesture.given_on, CareGesture.id))


def erase(cid: int) -> None:
    """Texts go; kinds, dates, scores, statuses and who handled what stay (the metrics and
    deadlines keep their meaning)."""
    options = {"synchronize_session": False}
    db.session.execute(update(Feedback).where(Feedback.customer_id == cid)
                       .values(summary=erasure.REMOVED, resolution=None, valuable_note=None)
                       .execution_options(**options))
    db.session.execute(update(FeedbackEvent).where(FeedbackEvent.customer_id == cid)
                       .values(note=None).execution_options(**options))
    db.session.execute(update(FeedbackEvent).where(FeedbackEvent.customer_id == cid,
                                                   FeedbackEvent.field.in_(TEXT_FIELDS))
                       .values(from_value=None, to_value=None).execution_options(**options))
    db.session.execute(update(Survey).where(Survey.customer_id == cid).values(comment=None)
                       .execution_options(**options))
    db.session.execute(update(CareGesture).where(CareGesture.customer_id == cid)
                       .values(what=erasure.REMOVED).execution_options(**options))


export.SECTIONS.extend([("feedback", _feedback), ("feedback_history", _feedback_events),
                        ("surveys", _surveys), ("greetings_and_gifts", _care)])
erasure.ERASERS.append(erase)
