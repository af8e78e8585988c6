"""What the customer card shows of the customer's voice: feedback with its clock, surveys and
their answers, greetings and gifts. A fixed number of queries, whatever the history."""

from datetime import timedelta

from flask import request
from sqlalchemy.orm import joinedload

from crm import access
from crm.clock import utcnow
from crm.extensions import db
from crm.voice.care import gestures_of
from crm.voice.forms import SurveyForm
from crm.voice.models import (
    CHANNEL_LABELS,
    GESTURE_LABELS,
    KIND_LABELS,
    OCCASION_LABELS,
    REASON_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Feedback,
)
from crm.voice.surveys import SURVEY_INTERVAL_DAYS, satisfaction_of_customer

CARD_LIMIT = 10
LABELS = {"kind": KIND_LABELS, "channel": CHANNEL_LABELS, "severity": SEVERITY_LABELS,
          "status": STATUS_LABELS, "gesture": GESTURE_LABELS, "occasion": OCCASION_LABELS,
          "reason": REASON_LABELS}


def card_voice(customer, user) -> dict:
    feedback = db.session.scalars(
        access.feedback_scope(user).where(Feedback.customer_id == customer.id)
        .options(joinedload(Feedback.assignee))
        .order_by(Feedback.received_at.desc(), Feedback.id.desc()).limit(CARD_LIMIT)).all()
    surveys = satisfaction_of_customer(customer.id)
    latest = surveys[0] if surveys else None
    next_on = latest.created_at + timedelta(days=SURVEY_INTERVAL_DAYS) if latest else None
    return {"voice": {
        "feedback": feedback, "surveys": surveys, "gestures": gestures_of(customer.id),
        "next_survey_at": next_on,
        "may_register": access.may_register_feedback(user, customer),
        "may_send_survey": access.may_send_survey(user, customer),
        "may_record_care": access.may_record_care(user, customer),
        # Just after a revisit is logged (crm.followups) the survey is offered for it.
        "offer_after_revisit": request.args.get("survey") == "revisit",
        "survey_form": SurveyForm(
            reason="revisit" if request.args.get("survey") == "revisit" else None),
        "labels": LABELS, "now": utcnow(),
    }}
