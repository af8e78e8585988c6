"""The pipeline board: deals by stage with column totals, filtered by rep, team and grade.
Every number comes from a fixed set of queries whatever the number of deals."""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload

from crm import access
from crm.accounts.models import Team, User
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.params import int_arg
from crm.pipeline.contact import latest_follow_ups
from crm.pipeline.deals import GRADE_WEIGHTS
from crm.pipeline.models import BOARD_STAGES, Deal, Grade, Stage

# The most urgent cards of each column (A first); the totals count them all. Every card
# carries its own Move form, so a column of hundreds would cost the page its speed.
CARDS_PER_COLUMN = 25


@dataclass
class BoardFilters:
    owner_id: int | None = None
    team_id: int | None = None
    grade: Grade | None = None
    stage: Stage = Stage.INQUIRY  # the tab shown on phones

    @classmethod
    def from_args(cls, args) -> "BoardFilters":
        grade = args.get("grade")
        stage = args.get("stage")
        return cls(owner_id=int_arg(args, "owner"), team_id=int_arg(args, "team"),
                   grade=Grade(grade) if grade in set(Grade) else None,
                   stage=Stage(stage) if stage in set(Stage) else Stage.INQUIRY)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    deals: list = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.deals)


def filtered_deals(user: User, filters: BoardFilters) -> Select:
    """The deals the user may see, narrowed by the board's filters."""
    query = access.deals_scope(user)
    if filters.owner_id:
        query = query.where(Deal.owner_id == filters.owner_id)
    if filters.team_id:
        team = db.session.get(Team, filters.team_id)
        members = select(User.id).where(User.team_id.in_(
            access.team_subtree_ids(team) if team else select(Team.id).where(False)))
        query = query.where(Deal.owner_id.in_(members))
    if filters.grade:
        query = query.where(Deal.grade == filters.grade)
    return query


def board_columns(user: User, filters: BoardFilters) -> list[Column]:
    """One column per stage: totals for all its deals, cards for the first of them (A
    first, then the soonest expected close)."""
    query = filtered_deals(user, filters)
    weight = case(*[(Deal.grade == grade, w) for grade, w in GRADE_WEIGHTS.items()],
                  else_=0)
    totals = {stage: (count, amount, weighted) for stage, count, amount, weighted in
              db.session.execute(query.with_only_columns(
                  Deal.stage, func.count(), func.coalesce(func.sum(Deal.amount), 0),
                  func.coalesce(func.sum(Deal.amount * weight), 0)).group_by(Deal.stage))}
    ranked = query.with_only_columns(Deal.id, func.row_number().over(
        partition_by=Deal.stage,
        order_by=(Deal.grade, Deal.expected_close.is_(None), Deal.expected_close, Deal.id))
        .label("place")).subquery()
    cards = db.session.scalars(
        select(Deal).where(Deal.id.in_(select(ranked.c.id)
                                       .where(ranked.c.place <= CARDS_PER_COLUMN)))
        .options(joinedload(Deal.customer), joinedload(Deal.owner))
        .order_by(Deal.grade, Deal.expected_close.is_(None), Deal.expected_close,
                  Deal.id)).all()
    columns = {stage: Column(stage) for stage in BOARD_STAGES}
    for stage, (count, amount, weighted) in totals.items():
        column = columns[Stage(stage)]
        column.count, column.amount = count, Decimal(amount or 0)
        column.weighted = Decimal(weighted or 0).quantize(Decimal("0.01"))
    for deal in cards:
        columns[deal.stage].deals.append(deal)
    return list(columns.values())


def plans_for(columns: list[Column]) -> dict[int, FollowUp]:
    """The latest follow-up of each card's customer, for its next date."""
    ids = {deal.customer_id for column in columns for deal in column.deals}
    if not ids:
        return {}
    from crm.customers.models import Customer

    return latest_follow_ups(select(Customer.id).where(Customer.id.in_(ids)))
