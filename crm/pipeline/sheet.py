"""The pipeline review sheet (理单表): one rep's open deals with what the follow-ups say and
what changed since yesterday, A first and then by next date, in constant queries."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.accounts.models import Role, User
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.pipeline.contact import follow_up_counts, latest_follow_ups
from crm.pipeline.deals import GRADE_WEIGHTS
from crm.pipeline.models import OPEN_STAGES, Deal, DealEvent, DealReview, Grade

RECENT_DAYS = 7


@dataclass
class SheetRow:
    deal: Deal
    last: FollowUp | None = None
    recent_follow_ups: int = 0
    all_follow_ups: int = 0
    new_follow_ups: int = 0
    changes: list[DealEvent] = field(default_factory=list)
    review: DealReview | None = None

    @property
    def next_date(self) -> date | None:
        return self.last.next_date if self.last else None


def sheet_rows(rep_id: int, *, today_start: datetime, deals=None) -> list[SheetRow]:
    """Every open deal of the rep. `today_start` is the start of the viewer's day (aware);
    "since yesterday" counts from the start of the day before."""
    open_deals = deals if deals is not None else select(Deal).where(
        Deal.owner_id == rep_id, Deal.stage.in_(OPEN_STAGES))
    rows = [SheetRow(deal) for deal in db.session.scalars(
        open_deals.options(joinedload(Deal.customer)))]
    if not rows:
        return []
    yesterday = today_start - timedelta(days=1)
    deal_ids = open_deals.with_only_columns(Deal.id)
    customer_ids = open_deals.with_only_columns(Deal.customer_id)
    last = latest_follow_ups(customer_ids)
    counts = follow_up_counts(customer_ids, recent_since=today_start - timedelta(
        days=RECENT_DAYS - 1), new_since=yesterday)
    changes: dict[int, list[DealEvent]] = {}
    for event in db.session.scalars(
            select(DealEvent).where(DealEvent.deal_id.in_(deal_ids), DealEvent.at >= yesterday,
                                    DealEvent.kind != "create")
            .order_by(DealEvent.at, DealEvent.id)):
        changes.setdefault(event.deal_id, []).append(event)
    ranked = (select(DealReview.id, func.row_number().over(
        partition_by=DealReview.deal_id, order_by=(DealReview.at.desc(), DealReview.id.desc()))
        .label("place")).where(DealReview.deal_id.in_(deal_ids)).subquery())
    reviews = {r.deal_id: r for r in db.session.scalars(
        select(DealReview).where(DealReview.id.in_(select(ranked.c.id)
                                                   .where(ranked.c.place == 1)))
        .options(joinedload(DealReview.reviewer)))}
    for row in rows:
        cid = row.deal.customer_id
        row.last = last.get(cid)
        row.recent_follow_ups, row.all_follow_ups, row.new_follow_ups = counts.get(cid, (0, 0, 0))
        row.changes = changes.get(row.deal.id, [])
        row.review = reviews.get(row.deal.id)
    rows.sort(key=sort_key)
    return rows


@dataclass(frozen=True)
class SheetSummary:
    open_amount: Decimal
    weighted_amount: Decimal
    a_deals: int
    overdue: int
    reviewed: int
    total: int


def reviewed_since(row: SheetRow, since: datetime) -> bool:
    return row.review is not None and row.review.at >= since


def summarise(rows: list[SheetRow], *, today: date, today_start: datetime) -> SheetSummary:
    """The head of a rep's sheet, from the rows already loaded: what is open, what it is
    worth weighed by grade, how many A deals, how many overdue, how many reviewed today."""
    amounts = [(row.deal.amount or Decimal(0), row.deal.grade) for row in rows]
    return SheetSummary(
        open_amount=sum((amount for amount, _grade in amounts), Decimal(0)),
        weighted_amount=sum((amount * GRADE_WEIGHTS[grade]
                             for amount, grade in amounts), Decimal(0)),
        a_deals=sum(1 for row in rows if row.deal.grade == Grade.A),
        overdue=sum(1 for row in rows if row.next_date is not None and row.next_date < today),
        reviewed=sum(1 for row in rows if reviewed_since(row, today_start)),
        total=len(rows))


def sort_key(row: SheetRow):
    """A first, then the soonest next date (no date last), then the expected close."""
    grade_place = {Grade.A: 0, Grade.B: 1, Grade.C: 2}[row.deal.grade]
    return (grade_place, row.next_date is None, row.next_date or date.max,
            row.deal.expected_close or date.max, row.deal.id)


def reps_alongside(rep: User) -> list[User]:
    """The active reps of the rep's team, in the order a manager walks through them."""
    return list(db.session.scalars(
        select(User).where(User.team_id == rep.team_id, User.role == Role.REP,
                           User.active.is_(True))
        .order_by(User.name, User.id)))


# The numbers the sheet shares with the dashboard and reports come from crm.metrics.
SINCE_YESTERDAY = ("follow_ups", "visits", "new_a_deals", "grade_upgrades", "grade_downgrades",
                   "won_deals")


def since_yesterday(rep: User) -> dict[str, int]:
    """The rep's activity yesterday and today, in their team's zone: one metrics statement,
    the same definitions the dashboard and reports count with."""
    from crm.metrics import Window, compute
    from crm.metrics.periods import Period, today_in
    from crm.metrics.summary import team_zone

    zone = team_zone(rep.team)
    today = today_in(zone)
    figures = compute(SINCE_YESTERDAY, Window(select(User.id).where(User.id == rep.id),
                                              Period.custom(today - timedelta(days=1), today),
                                              zone))
    return {name: figures.total(name) for name in SINCE_YESTERDAY}
