"""The metrics module against figures worked out by hand for a fixed dataset: follow-ups
either side of midnight in two time zones, a deal moved twice in a day, revisits on time and
late, reviews with scores, customers added, claimed and returned to the pool."""

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from crm.accounts.models import Role, Team, User
from crm.customers.models import OwnershipChange, OwnershipEvent
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpKind, Revisit
from crm.metrics import METRICS, Metric, Window, compute, grouped, register
from crm.metrics.periods import Period
from crm.pipeline.models import Deal, DealChange, DealEvent, Grade, Stage
from crm.recordings.models import Recording, RecordingStatus
from crm.reviews.models import Review, ReviewScore, ReviewStatus, RubricVersion

SHANGHAI, NEW_YORK = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
DAY = date(2026, 11, 10)  # a Tuesday; Shanghai is UTC+8, New York UTC-5 that day


def utc(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def dataset(app, make_team, make_user, make_customer):
    """Two teams in two zones and a rep in each; every row at a fixed instant."""
    east = make_team("Metrics East")
    west = make_team("Metrics West")
    rep_a = make_user(Role.REP, east, name="Alpha")
    rep_b = make_user(Role.REP, west, name="Bravo")
    manager = make_user(Role.MANAGER, east, name="Boss")
    cust_a = make_customer(rep_a, name="甲客户")
    cust_b = make_customer(rep_b, name="乙客户")
    with app.app_context():
        db.session.execute(update(Team).where(Team.id == west).values(
            timezone="America/New_York"))
        # The factories' customers were "created" now: move those events out of the way.
        db.session.execute(update(OwnershipEvent).values(at=utc(1, 0)))

        def follow_up(author, customer, kind, at):
            row = FollowUp(customer_id=customer, author_id=author.id, kind=kind,
                           occurred_at=at, summary="—")
            db.session.add(row)
            db.session.flush()
            return row

        # Shanghai's 10 Nov is 9 Nov 16:00Z to 10 Nov 16:00Z.
        follow_up(rep_a, cust_a, FollowUpKind.VISIT, utc(9, 15, 59))   # 9 Nov 23:59 local
        in_day = follow_up(rep_a, cust_a, FollowUpKind.VISIT, utc(9, 16))  # 10 Nov 00:00
        follow_up(rep_a, cust_a, FollowUpKind.CALL, utc(10, 15, 59))   # 10 Nov 23:59
        follow_up(rep_a, cust_a, FollowUpKind.CALL, utc(10, 16))       # 11 Nov 00:00
        # New York's 10 Nov is 10 Nov 05:00Z to 11 Nov 05:00Z.
        follow_up(rep_b, cust_b, FollowUpKind.VISIT, utc(10, 4, 59))   # 9 Nov 23:59 local
        follow_up(rep_b, cust_b, FollowUpKind.VISIT, utc(10, 5))       # 10 Nov 00:00
        follow_up(rep_b, cust_b, FollowUpKind.VISIT, utc(11, 4, 59))   # 10 Nov 23:59
        follow_up(rep_b, cust_b, FollowUpKind.CALL, utc(11, 5))        # 11 Nov 00:00

        # A deal created as B, moved twice in one day, upgraded to A and down again.
        one = Deal(customer_id=cust_a, owner_id=rep_a.id, title="一", grade=Grade.B,
                   stage=Stage.INTENT, amount=Decimal("8000"))
        # A deal created as A and won the same day.
        two = Deal(customer_id=cust_a, owner_id=rep_a.id, title="二", grade=Grade.A,
                   stage=Stage.WON, amount=Decimal("5000"))
        db.session.add_all([one, two])
        db.session.flush()

        def event(deal, kind, before, after, direction, at):
            db.session.add(DealEvent(deal_id=deal.id, customer_id=deal.customer_id,
                                     owner_id=deal.owner_id, kind=kind, from_value=before,
                                     to_value=after, direction=direction, at=at))

        event(one, DealChange.CREATE, None, "inquiry", 0, utc(10, 2))
        event(one, DealChange.STAGE, "inquiry", "first_meeting", 1, utc(10, 3))
        event(one, DealChange.STAGE, "first_meeting", "intent", 1, utc(10, 4))
        event(one, DealChange.GRADE, "B", "A", 1, utc(10, 5))
        event(one, DealChange.GRADE, "A", "B", -1, utc(10, 6))
        event(two, DealChange.CREATE, None, "inquiry", 0, utc(10, 7))
        event(two, DealChange.STAGE, "inquiry", "won", 1, utc(10, 8))
        # Won again after a slip back the same day: still one won deal.
        event(two, DealChange.STAGE, "won", "negotiation", -1, utc(10, 9))
        event(two, DealChange.STAGE, "negotiation", "won", 1, utc(10, 10))

        # Customers: one added, one claimed, one released inside the day, one expiry after.
        for kind, to_user, from_user, at in (
                (OwnershipChange.CREATE, rep_a.id, None, utc(10, 1)),
                (OwnershipChange.CLAIM, rep_a.id, None, utc(10, 2)),
                (OwnershipChange.RELEASE, None, rep_a.id, utc(10, 15, 30)),
                (OwnershipChange.EXPIRY, None, rep_a.id, utc(10, 16, 30))):
            db.session.add(OwnershipEvent(customer_id=cust_a, kind=kind, to_user_id=to_user,
                                          from_user_id=from_user, at=at))

        # Revisits: one due that day and done at 23:00 local (on time), one due the day
        # before and done that morning (late).
        db.session.add_all([
            Revisit(customer_id=cust_a, reason="won_deal", due_on=DAY, plan_key="m1",
                    done_follow_up_id=in_day.id, done_at=utc(10, 15)),
            Revisit(customer_id=cust_a, reason="won_deal", due_on=date(2026, 11, 9),
                    plan_key="m2", done_follow_up_id=in_day.id, done_at=utc(10, 3))])

        # Two recordings of rep A that day; one reviewed with scores 3 and 5.
        recordings = [Recording(follow_up_id=in_day.id, uploaded_by_id=rep_a.id,
                                created_at=utc(10, 1), original_sha256=f"{n:064d}",
                                original_size=1, original_type="audio/wav",
                                status=RecordingStatus.READY) for n in (1, 2)]
        db.session.add_all(recordings)
        db.session.flush()
        rubric = db.session.scalar(select(RubricVersion.id).limit(1))
        review = Review(recording_id=recordings[0].id, rep_id=rep_a.id,
                        reviewer_id=manager.id, rubric_version_id=rubric,
                        status=ReviewStatus.FINISHED, finished_at=utc(10, 10))
        db.session.add(review)
        db.session.flush()
        db.session.add_all([ReviewScore(review_id=review.id, item_key="opening", score=3),
                            ReviewScore(review_id=review.id, item_key="closing", score=5)])
        db.session.commit()
    return SimpleNamespace(east=east, west=west, rep_a=rep_a, rep_b=rep_b, manager=manager)


def _figures(app, people, kind, zone, daily=()):
    with app.app_context():
        ids = select(User.id).where(User.id.in_([p.id for p in people]))
        return compute(list(METRICS), Window(ids, Period.containing(kind, DAY), zone),
                       daily=daily)


def test_follow_ups_either_side_of_midnight_in_two_zones(app, dataset):
    a = _figures(app, [dataset.rep_a], "day", SHANGHAI)
    assert (a.total("visits"), a.total("calls"), a.total("follow_ups")) == (1, 1, 2)
    b = _figures(app, [dataset.rep_b], "day", NEW_YORK)
    assert (b.total("visits"), b.total("calls"), b.total("follow_ups")) == (2, 0, 2)
    # The same instants read in the other zone fall on other days: in Shanghai, B's visit at
    # 23:59 on the 9th (New York) is on the 10th, and the one at 23:59 on the 10th is not.
    b_in_shanghai = _figures(app, [dataset.rep_b], "day", SHANGHAI)
    assert (b_in_shanghai.total("visits"), b_in_shanghai.total("calls")) == (2, 0)
    with app.app_context():
        ids = select(User.id).where(User.id == dataset.rep_b.id)
        eleventh = compute(["visits", "calls"], Window(
            ids, Period.containing("day", date(2026, 11, 11)), SHANGHAI))
    assert (eleventh.total("visits"), eleventh.total("calls")) == (1, 1)


def test_a_week_and_its_days_in_the_teams_zone(app, dataset):
    week = _figures(app, [dataset.rep_a], "week", SHANGHAI, daily=("visits", "follow_ups"))
    assert (week.total("visits"), week.total("calls")) == (2, 2)
    by_day = dict(week.daily("follow_ups"))
    assert by_day[date(2026, 11, 9)] == 1
    assert by_day[date(2026, 11, 10)] == 2
    assert by_day[date(2026, 11, 11)] == 1
    assert sum(by_day.values()) == 4 and len(by_day) == 7


def test_deals_moved_twice_in_a_day(app, dataset):
    f = _figures(app, [dataset.rep_a], "day", SHANGHAI)
    assert f.total("new_deals") == 2
    assert f.total("new_a_deals") == 2  # one created as A, one upgraded to A
    assert (f.total("grade_upgrades"), f.total("grade_downgrades")) == (1, 1)
    assert f.total("won_deals") == 1  # won, slipped back and won again: one deal
    assert f.total("won_amount") == Decimal("5000.00")
    assert [f.total(f"reached_{s}") for s in
            ("inquiry", "first_meeting", "intent", "negotiation", "won")] == [2, 1, 1, 1, 1]
    assert f.total("reached_intent_amount") == Decimal("8000.00")
    assert f.total("lost_deals") == 0


def test_customers_revisits_and_reviews(app, dataset):
    f = _figures(app, [dataset.rep_a, dataset.manager], "day", SHANGHAI)
    assert (f.total("customers_created"), f.total("customers_claimed"),
            f.total("new_customers")) == (1, 1, 2)
    assert f.total("pool_returns") == 1  # the expiry falls on the next local day
    assert (f.total("revisits_done"), f.total("revisits_on_time")) == (2, 1)
    assert f.person("reviews_received", dataset.rep_a.id) == 1
    assert f.person("reviews_done", dataset.manager.id) == 1
    assert f.total("review_score") == 4.0
    assert (f.total("recordings"), f.total("recordings_reviewed")) == (2, 1)
    # Per person: the manager has no visits of their own.
    assert f.person("visits", dataset.manager.id) is not None
    assert f.person("visits", dataset.manager.id) == 0


def test_one_statement_for_every_metric(app, dataset):
    from tests.conftest import count_queries

    with count_queries(app) as counted:
        _figures(app, [dataset.rep_a], "quarter", SHANGHAI, daily=("visits", "new_a_deals"))
    assert counted.count == 1


def test_a_new_metric_is_one_registration(app, dataset):
    """How satisfaction will arrive: one definition, read everywhere compute() is."""
    from flask_babel import lazy_gettext as _l

    metric = Metric("test_late_visits", _l("Visits"), "count",
                    lambda w, by_day: grouped(w, FollowUp.author_id, FollowUp.occurred_at,
                                              db.func.count(), FollowUp.kind == "visit",
                                              by_day=by_day), goal=False)
    register(metric)
    try:
        f = _figures(app, [dataset.rep_b], "day", NEW_YORK)
        assert f.total("test_late_visits") == 2
    finally:
        METRICS.pop("test_late_visits")


def test_satisfaction_from_the_surveys(app, dataset):
    """Satisfaction is a metric like the others (goals and the dashboard read it), worked
    out by hand and matching the satisfaction page's own figures."""
    from datetime import timedelta

    from crm.customers.models import Customer
    from crm.goals.progress import Progress
    from crm.voice.models import Survey, SurveyReason, SurveyScale
    from crm.voice.surveys import satisfaction

    with app.app_context():
        customer = db.session.scalar(select(Customer.id).where(
            Customer.owner_id == dataset.rep_a.id))
        # (sent at, scale, score or None when unanswered); Shanghai's 10 Nov is
        # 9 Nov 16:00Z to 10 Nov 16:00Z.
        for n, (at, scale, score) in enumerate((
                (utc(9, 16), SurveyScale.STARS, 5),       # 10 Nov 00:00 local
                (utc(10, 2), SurveyScale.STARS, 2),
                (utc(10, 3), SurveyScale.STARS, None),    # not answered
                (utc(10, 4), SurveyScale.NPS, 9),         # answered, on the other scale
                (utc(9, 15, 59), SurveyScale.STARS, 1),   # 9 Nov 23:59 local: outside
                (utc(10, 16), SurveyScale.STARS, 1))):    # 11 Nov 00:00 local: outside
            db.session.add(Survey(
                customer_id=customer, rep_id=dataset.rep_a.id, team_id=dataset.east,
                scale=scale, reason=list(SurveyReason)[0], nonce=f"metric-{n}",
                created_at=at, expires_at=at + timedelta(days=14),
                answered_at=at + timedelta(hours=1) if score is not None else None,
                score=score))
        db.session.flush()
        ids = select(User.id).where(User.id.in_([dataset.rep_a.id, dataset.rep_b.id]))
        f = compute(["satisfaction_score", "survey_response_rate"],
                    Window(ids, Period.containing("day", DAY), SHANGHAI))
        # Stars answered that day: 5 and 2 → 3.5; answered 3 of the 4 sent → 75 %.
        assert f.person("satisfaction_score", dataset.rep_a.id) == 3.5
        assert f.person("survey_response_rate", dataset.rep_a.id) == 75.0
        assert f.total("satisfaction_score") == 3.5
        assert f.person("satisfaction_score", dataset.rep_b.id) is None  # nothing sent
        page = satisfaction(DAY, DAY, ids=[dataset.rep_a.id], zone=SHANGHAI)[dataset.rep_a.id]
        assert (page.average(), page.response_rate) == (3.5, 0.75)
        # A goal on it is a level to hold, not a total growing with the period.
        goal = SimpleNamespace(metric="satisfaction_score", target=Decimal("4"))
        assert Progress(goal, Decimal("3.5"), 0.1).pace == "behind"
        assert Progress(goal, Decimal("4.2"), 0.9).pace == "done"
        db.session.rollback()


def test_the_dashboards_drought_is_the_teams_setting():
    """The chart shades a drought after the team's own number of days, the one its managers
    are alerted by (Team.drought_days), not a number of its own."""
    from crm.metrics.summary import _mark_droughts

    points = [{"value": v} for v in (1, 0, 1, 0, 0)]
    _mark_droughts(points, 2)
    assert [p["drought"] for p in points] == [False, False, False, True, True]
    _mark_droughts(points, 1)
    assert [p["drought"] for p in points] == [False, True, False, True, True]
