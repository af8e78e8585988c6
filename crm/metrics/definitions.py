"""The built-in metrics, each one definition. Events are counted by the person they belong
to (the follow-up's author, the deal's owner at the time of the event, the review's rep)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal_column, or_, select

from crm.customers.models import OwnershipChange, OwnershipEvent
from crm.followups.models import FollowUp, FollowUpKind, Revisit
from crm.metrics.registry import Metric, Window, grouped, register
from crm.pipeline.models import STAGE_ORDER, Deal, DealChange, DealEvent, Grade, Stage
from crm.recordings.models import Recording
from crm.reviews.models import Review, ReviewScore, ReviewStatus
from crm.voice.models import Survey, SurveyScale

COUNT = func.count(literal_column("1"))


def _ownership(kinds, person_column):
    def query(w: Window, by_day: bool):
        return grouped(w, person_column, OwnershipEvent.at, COUNT,
                       OwnershipEvent.kind.in_(kinds), by_day=by_day)
    return query


def _follow_ups(*kinds):
    def query(w: Window, by_day: bool):
        where = [FollowUp.kind.in_(kinds)] if kinds else []
        return grouped(w, FollowUp.author_id, FollowUp.occurred_at, COUNT, *where,
                       by_day=by_day)
    return query


def _revisits(on_time: bool):
    def query(w: Window, by_day: bool):
        where = [Revisit.due_on >= w.local_date(Revisit.done_at)] if on_time else []
        return grouped(w, FollowUp.author_id, Revisit.done_at, COUNT, *where, by_day=by_day,
                       select_from=Revisit.__table__.join(
                           FollowUp.__table__, FollowUp.id == Revisit.done_follow_up_id))
    return query


def _deal_events(*where):
    def query(w: Window, by_day: bool):
        return grouped(w, DealEvent.owner_id, DealEvent.at, COUNT, *where, by_day=by_day)
    return query


def _first_grade_before():
    """A deal's grade when it was created: the first grade change's "from", or its grade."""
    first = (select(DealEvent.from_value).where(DealEvent.deal_id == Deal.id,
                                                DealEvent.kind == DealChange.GRADE)
             .order_by(DealEvent.at, DealEvent.id).limit(1).correlate(Deal).scalar_subquery())
    return func.coalesce(first, Deal.grade)


def _new_a_deals(w: Window, by_day: bool):
    created_as_a = and_(DealEvent.kind == DealChange.CREATE, _first_grade_before() == Grade.A.value)
    upgraded_to_a = and_(DealEvent.kind == DealChange.GRADE, DealEvent.to_value == Grade.A.value,
                         DealEvent.direction > 0)
    return grouped(w, DealEvent.owner_id, DealEvent.at, COUNT, or_(created_as_a, upgraded_to_a),
                   by_day=by_day,
                   select_from=DealEvent.__table__.join(Deal.__table__,
                                                        Deal.id == DealEvent.deal_id))


def _entered(w: Window, stages, amount: bool, by_day: bool):
    """Distinct deals that entered one of `stages` in the window (first time in it), by the
    owner at that moment: a deal moved there twice in a day counts once."""
    values = [s.value for s in stages]
    entering = or_(and_(DealEvent.kind == DealChange.STAGE, DealEvent.to_value.in_(values)),
                   and_(DealEvent.kind == DealChange.CREATE, DealEvent.to_value.in_(values)))
    firsts = (select(DealEvent.deal_id, DealEvent.owner_id, func.min(DealEvent.at).label("at"))
              # The people here too, not only outside: the (owner, at) index then reads
              # their events of the period rather than everyone's.
              .where(entering, DealEvent.owner_id.in_(w.people), DealEvent.at >= w.start,
                     DealEvent.at < w.end)
              .group_by(DealEvent.deal_id, DealEvent.owner_id).subquery())
    value = func.sum(func.coalesce(Deal.amount, 0)) if amount else COUNT
    return grouped(w, firsts.c.owner_id, firsts.c.at, value, by_day=by_day,
                   select_from=firsts.join(Deal.__table__, Deal.id == firsts.c.deal_id))


def _reviews_received(w: Window, by_day: bool):
    return grouped(w, Review.rep_id, Review.finished_at, COUNT,
                   Review.status == ReviewStatus.FINISHED, by_day=by_day)


def _reviews_done(w: Window, by_day: bool):
    return grouped(w, Review.reviewer_id, Review.finished_at, COUNT,
                   Review.status == ReviewStatus.FINISHED, by_day=by_day)


def _review_score(w: Window, by_day: bool):
    return grouped(w, Review.rep_id, Review.finished_at, func.sum(ReviewScore.score),
                   Review.status == ReviewStatus.FINISHED, by_day=by_day,
                   weight=func.count(ReviewScore.score),
                   select_from=Review.__table__.join(ReviewScore.__table__,
                                                     ReviewScore.review_id == Review.id))


# Customer satisfaction (crm.voice surveys), read as crm.voice.surveys.satisfaction reads it:
# the surveys sent in the period, by the rep whose work they rate. The average is of 1–5
# answers (a team on the 0–10 recommend scale reads its NPS on the satisfaction page).

def _satisfaction_score(w: Window, by_day: bool):
    stars = and_(Survey.answered_at.is_not(None), Survey.scale == SurveyScale.STARS)
    return grouped(w, Survey.rep_id, Survey.created_at,
                   func.sum(case((stars, Survey.score), else_=0)), by_day=by_day,
                   weight=func.sum(case((stars, 1), else_=0)))


def _survey_response_rate(w: Window, by_day: bool):
    """Per cent answered: 100 per answer over the surveys sent (a weighted average)."""
    return grouped(w, Survey.rep_id, Survey.created_at,
                   100 * func.count(Survey.answered_at), by_day=by_day, weight=func.count())


def _recordings(reviewed: bool):
    def query(w: Window, by_day: bool):
        where = []
        if reviewed:
            where.append(Recording.id.in_(select(Review.recording_id).where(
                Review.status == ReviewStatus.FINISHED)))
        return grouped(w, FollowUp.author_id, Recording.created_at, COUNT, *where,
                       by_day=by_day, select_from=Recording.__table__.join(
                           FollowUp.__table__, FollowUp.id == Recording.follow_up_id))
    return query


register(Metric("new_customers", _l("New customers"), "count",
                _ownership((OwnershipChange.CREATE, OwnershipChange.CLAIM),
                           OwnershipEvent.to_user_id),
                help=_l("Customers added or claimed from the pool")))
register(Metric("customers_created", _l("Customers added"), "count",
                _ownership((OwnershipChange.CREATE,), OwnershipEvent.to_user_id), goal=False))
register(Metric("customers_claimed", _l("Customers claimed"), "count",
                _ownership((OwnershipChange.CLAIM,), OwnershipEvent.to_user_id), goal=False))
register(Metric("visits", _l("Visits"), "count", _follow_ups(FollowUpKind.VISIT)))
register(Metric("calls", _l("Calls"), "count", _follow_ups(FollowUpKind.CALL)))
register(Metric("follow_ups", _l("All follow-ups"), "count", _follow_ups()))
register(Metric("revisits_on_time", _l("Revisits done on time"), "count", _revisits(True)))
register(Metric("revisits_done", _l("Revisits done"), "count", _revisits(False), goal=False))
register(Metric("new_deals", _l("New deals"), "count",
                _deal_events(DealEvent.kind == DealChange.CREATE)))
register(Metric("new_a_deals", _l("New A deals"), "count", _new_a_deals))
register(Metric("grade_upgrades", _l("Grade upgrades"), "count",
                _deal_events(DealEvent.kind == DealChange.GRADE, DealEvent.direction > 0),
                goal=False))
register(Metric("grade_downgrades", _l("Grade downgrades"), "count",
                _deal_events(DealEvent.kind == DealChange.GRADE, DealEvent.direction < 0),
                goal=False))
register(Metric("won_deals", _l("Deals won"), "count",
                lambda w, by_day: _entered(w, (Stage.WON,), False, by_day)))
register(Metric("won_amount", _l("Won amount (¥)"), "amount",
                lambda w, by_day: _entered(w, (Stage.WON,), True, by_day)))
register(Metric("lost_deals", _l("Deals lost"), "count",
                lambda w, by_day: _entered(w, (Stage.LOST,), False, by_day), goal=False))
register(Metric("pool_returns", _l("Back to the pool"), "count",
                _ownership((OwnershipChange.RELEASE, OwnershipChange.EXPIRY),
                           OwnershipEvent.from_user_id), goal=False))
register(Metric("reviews_received", _l("Reviews received"), "count", _reviews_received,
                goal=False))
register(Metric("reviews_done", _l("Reviews done"), "count", _reviews_done))
register(Metric("review_score", _l("Average review score"), "score", _review_score,
                goal=False))
register(Metric("satisfaction_score", _l("Customer satisfaction (1–5)"), "score",
                _satisfaction_score,
                help=_l("Average answer to the satisfaction surveys sent in the period")))
register(Metric("survey_response_rate", _l("Survey response rate"), "percent",
                _survey_response_rate,
                help=_l("Share of the satisfaction surveys sent in the period that were "
                        "answered")))
register(Metric("recordings", _l("Recordings"), "count", _recordings(False), goal=False))
register(Metric("recordings_reviewed", _l("Recordings reviewed"), "count", _recordings(True),
                goal=False))

# The funnel: deals that reached each stage in the period, and what they are worth.
FUNNEL_STAGES = STAGE_ORDER[:5]  # inquiry … won
for _stage in FUNNEL_STAGES:
    register(Metric(f"reached_{_stage.value}", _stage.value, "count",
                    lambda w, by_day, s=_stage: _entered(w, (s,), False, by_day), goal=False))
    register(Metric(f"reached_{_stage.value}_amount", _stage.value, "amount",
                    lambda w, by_day, s=_stage: _entered(w, (s,), True, by_day), goal=False))
