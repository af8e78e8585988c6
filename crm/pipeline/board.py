"""The pipeline board: deals by stage with column totals, filtered by rep, team and grade.
Every number comes from a fixed set of queries whatever the number of deals."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload

from crm import access
from crm.accounts.models import Team, User
from crm.customers.models import Customer
from crm.extensions import db
from crm.params import int_arg
from crm.pipeline.contact import next_dates
from crm.pipeline.deals import GRADE_WEIGHTS
from crm.pipeline.models import BOARD_STAGES, Deal, Grade, Stage

# The most urgent cards of each column (A first); the totals count them all. A column of
# hundreds would cost the page its speed and the phone its scrolling.
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
        # A card shows its customer's name and last contact and its owner's name: the
        # rest of those rows (search text, addresses, settings) stays in the database.
        .options(joinedload(Deal.customer).load_only(Customer.name, Customer.last_contact_at),
                 joinedload(Deal.owner).load_only(User.name))
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


def next_dates_for(columns: list[Column]) -> dict[int, date | None]:
    """The next date each card's customer is planned for."""
    ids = {deal.customer_id for column in columns for deal in column.deals}
    return next_dates(ids) if ids else {}
