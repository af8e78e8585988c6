"""Satisfaction surveys: a signed one-time link, at most one per customer per 30 days, the
answer (a low score opens a complaint), and the figures per rep and per team.

The link carries the survey's id, its customer's id and a random nonce, signed with the app's
secret key (itsdangerous). It is good once, until it expires; every way a link can be wrong
(tampered, unknown, of another customer, answered, expired) looks the same to the visitor.
"""

import hmac
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from crm.accounts.models import Team
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.errors import DomainError
from crm.extensions import db
from crm.voice.feedback import register_feedback
from crm.voice.models import (
    SCALE_RANGES,
    Channel,
    FeedbackKind,
    Severity,
    Survey,
    SurveyReason,
    SurveyScale,
)
from crm.voice.settings import settings_for

# At most one survey per customer in this many days.
SURVEY_INTERVAL_DAYS = 30
# A survey form is good for this long after the page was loaded.
FORM_MAX_AGE = 24 * 3600


def _link_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="crm.voice.survey-link")


def _form_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="crm.voice.survey-form")


def token_for(survey: Survey) -> str:
    return _link_signer().dumps({"s": survey.id, "c": survey.customer_id, "n": survey.nonce})


def survey_for_token(token: str, now: datetime | None = None) -> Survey | None:
    """The survey a link may still answer, or None (whatever the reason)."""
    try:
        payload = _link_signer().loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    survey_id, customer_id, nonce = payload.get("s"), payload.get("c"), payload.get("n")
    if not (isinstance(survey_id, int) and isinstance(customer_id, int)
            and isinstance(nonce, str)):
        return None
    survey = db.session.get(Survey, survey_id)
    if (survey is None or survey.customer_id != customer_id
            or not hmac.compare_digest(survey.nonce, nonce)):
        return None
    if survey.answered_at is not None or survey.expires_at <= (now or utcnow()):
        return None
    return survey


def form_token_for(survey: Survey) -> str:
    """The hidden field that proves the answer comes from the survey's own page (the public
    page has no session, so the usual CSRF token has nowhere to live)."""
    return _form_signer().dumps(survey.id)


def form_token_matches(token: str | None, survey_id: int | None = None) -> bool:
    if not token:
        return False
    try:
        signed = _form_signer().loads(token, max_age=FORM_MAX_AGE)
    except BadSignature:
        return False
    return isinstance(signed, int) and (survey_id is None or signed == survey_id)


def last_survey(customer_id: int) -> Survey | None:
    return db.session.scalars(select(Survey).where(Survey.customer_id == customer_id)
                              .order_by(Survey.created_at.desc(), Survey.id.desc())
                              .limit(1)).first()


def next_allowed_on(customer_id: int, now: datetime | None = None) -> datetime | None:
    """When the next survey may go to this customer; None when it may go now."""
    previous = last_survey(customer_id)
    if previous is None:
        return None
    allowed = previous.created_at + timedelta(days=SURVEY_INTERVAL_DAYS)
    return allowed if allowed > (now or utcnow()) else None


def create_survey(customer: Customer, by_user, *, reason: SurveyReason,
                  now: datetime | None = None) -> Survey:
    """A new survey rating the owner's work, on their team's scale; refused within 30 days
    of the customer's last one."""
    now = now or utcnow()
    if customer.owner_id is None:
        raise DomainError(_l("A customer in the public pool has nobody to rate."))
    # Two people sending at once: the customer's row is the lock (PostgreSQL; SQLite
    # writes one transaction at a time anyway).
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    allowed = next_allowed_on(customer.id, now)
    if allowed is not None:
        raise DomainError(_l("This customer had a survey in the last %(days)d days; the next "
                             "one may be sent from %(date)s.", days=SURVEY_INTERVAL_DAYS,
                             date=allowed.date().isoformat()))
    owner = customer.owner
    settings = settings_for(owner.team_id)
    survey = Survey(customer_id=customer.id, rep_id=owner.id, team_id=owner.team_id,
                    scale=SurveyScale(settings.survey_scale), reason=reason,
                    nonce=secrets.token_urlsafe(24), created_by_id=by_user.id,
                    created_at=now, expires_at=now + timedelta(days=settings.survey_days))
    db.session.add(survey)
    db.session.flush()
    return survey


def low_threshold(survey: Survey) -> int:
    settings = settings_for(survey.team_id)
    return (settings.low_score_nps if survey.scale == SurveyScale.NPS
            else settings.low_score_stars)


def answer_survey(survey: Survey, score: int, comment: str | None,
                  now: datetime | None = None) -> bool:
    """Keep the answer, once: a second answer (even at the same moment) changes nothing and
    returns False. A score at or below the team's threshold opens a complaint."""
    if score not in SCALE_RANGES[survey.scale]:
        raise DomainError(_l("Choose a score."), field="score")
    now = now or utcnow()
    comment = (comment or "").strip()[:2000] or None
    taken = db.session.execute(
        update(Survey).where(Survey.id == survey.id, Survey.answered_at.is_(None),
                             Survey.expires_at > now)
        .values(answered_at=now, score=score, comment=comment)).rowcount
    if taken != 1:
        return False
    db.session.refresh(survey)
    if score <= low_threshold(survey):
        customer = db.session.get(Customer, survey.customer_id)
        # Stored as typed, not in the visitor's language: "[2/5] comment".
        summary = f"[{score}/{SCALE_RANGES[survey.scale][-1]}] {comment or ''}".strip()
        register_feedback(customer, None, kind=FeedbackKind.COMPLAINT, channel=Channel.SURVEY,
                          severity=Severity.NORMAL, summary=summary,
                          assignee=survey.rep or customer.owner, survey_id=survey.id)
    return True


# Figures ---------------------------------------------------------------------------------

@dataclass
class Satisfaction:
    """Surveys sent in a period and how they were answered, per scale."""

    sent: int = 0
    answered: int = 0
    # {"stars": {1: n, …, 5: n}, "nps": {0: n, …, 10: n}}: only scales that were used.
    distribution: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)  # scale -> sum of scores

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    def average(self, scale: str = SurveyScale.STARS.value) -> float | None:
        counts = self.distribution.get(scale)
        answered = sum(counts.values()) if counts else 0
        return self.totals[scale] / answered if answered else None

    def nps(self) -> float | None:
        """Promoters (9–10) minus detractors (0–6), in per cent."""
        counts = self.distribution.get(SurveyScale.NPS.value)
        answered = sum(counts.values()) if counts else 0
        if not answered:
            return None
        promoters = counts.get(9, 0) + counts.get(10, 0)
        detractors = sum(counts.get(score, 0) for score in range(0, 7))
        return 100.0 * (promoters - detractors) / answered


def _bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def satisfaction(first: date, last: date, *, by: str = "rep", ids=None,
                 zone: ZoneInfo | str | None = None) -> dict[int, Satisfaction]:
    """Satisfaction per rep (`by="rep"`) or per team (`by="team"`, each team with every team
    below it) for surveys sent from `first` to `last` (local days in `zone`, by default the
    app's zone): how many were sent and answered (response rate), the distribution of scores
    and the average per scale.

    `ids` (a list or a select of ids) narrows the reps or teams. Two grouped queries,
    whatever the number of surveys. This is the satisfaction metric goals and dashboards read.
    """
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone or ZoneInfo(
        current_app.config["DEFAULT_TIMEZONE"])
    start, end = _bounds(first, last, zone)
    base = [Survey.created_at >= start, Survey.created_at < end]
    if by == "rep":
        group = Survey.rep_id

        def grouped(*columns):
            return select(group, *columns).where(*base, group.is_not(None))
    else:
        # A team counts the surveys of its own people and of every team below it.
        own, above = aliased(Team), aliased(Team)
        group = above.id

        def grouped(*columns):
            return (select(group, *columns).select_from(Survey)
                    .join(own, own.id == Survey.team_id)
                    .join(above, own.path.like(above.path + "%")).where(*base))
    if ids is not None:
        base.append(group.in_(ids))
    result: dict[int, Satisfaction] = {}
    for key, sent, answered in db.session.execute(
            grouped(func.count(), func.count(Survey.answered_at)).group_by(group)):
        result[key] = Satisfaction(sent=sent, answered=answered)
    for key, scale, score, count in db.session.execute(
            grouped(Survey.scale, Survey.score, func.count())
            .where(Survey.answered_at.is_not(None))
            .group_by(group, Survey.scale, Survey.score)):
        figures = result.setdefault(key, Satisfaction())
        counts = figures.distribution.setdefault(scale.value, Counter())
        counts[score] += count
        figures.totals[scale.value] = figures.totals.get(scale.value, 0) + score * count
    return result


def satisfaction_of_customer(customer_id: int, limit: int = 10) -> list[Survey]:
    return list(db.session.scalars(
        select(Survey).where(Survey.customer_id == customer_id)
        .order_by(Survey.created_at.desc(), Survey.id.desc()).limit(limit)))
