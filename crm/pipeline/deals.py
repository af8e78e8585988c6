"""The rules of a deal: creating, editing, moving between stages, grading; every change of
stage or grade is recorded, and a won deal keeps its customer out of the public pool."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update

from crm.accounts.models import TEAM_DEFAULTS, Team, User
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.pipeline.models import (
    GRADE_RANK,
    OPEN_STAGES,
    STAGE_ORDER,
    Deal,
    DealChange,
    DealEvent,
    DealReview,
    Grade,
    Stage,
)

# Board totals weigh each deal's amount by how likely its grade says it is to sign. A fixed
# rule of thumb rather than a setting: it only orders attention, it is not a forecast.
GRADE_WEIGHTS = {Grade.A: Decimal("0.8"), Grade.B: Decimal("0.5"), Grade.C: Decimal("0.2")}


def grade_days(team: Team | None) -> dict[Grade, int]:
    """Days within which an A, B or C deal of this team's reps should sign."""
    rules = team or TEAM_DEFAULTS
    return {Grade.A: rules.grade_a_days, Grade.B: rules.grade_b_days, Grade.C: rules.grade_c_days}


def set_grade_windows(team: Team, *, a: int | None, b: int | None, c: int | None) -> None:
    """Change a team's grade windows; a missing value keeps the current one."""
    a, b, c = (a or team.grade_a_days, b or team.grade_b_days, c or team.grade_c_days)
    if not a <= b <= c:
        raise DomainError(_l("An A grade cannot give more days than B, nor B more than C."),
                          field="grade_a_days")
    team.grade_a_days, team.grade_b_days, team.grade_c_days = a, b, c


def _direction_of_stage(before: Stage | None, after: Stage) -> int:
    if before is None or Stage.LOST in (before, after):
        return 0
    return 1 if STAGE_ORDER.index(after) > STAGE_ORDER.index(before) else -1


def _direction_of_grade(before: Grade | None, after: Grade) -> int:
    if before is None:
        return 0
    return (GRADE_RANK[after] > GRADE_RANK[before]) - (GRADE_RANK[after] < GRADE_RANK[before])


def _record(deal: Deal, by: User | None, kind: DealChange, before, after, direction: int,
            note: str | None = None, at: datetime | None = None) -> None:
    db.session.add(DealEvent(deal_id=deal.id, customer_id=deal.customer_id,
                             owner_id=deal.owner_id, by_user_id=by.id if by else None,
                             kind=kind, from_value=before.value if before else None,
                             to_value=after.value, direction=direction, note=note,
                             at=at or utcnow()))


def _clean_amount(amount) -> Decimal | None:
    if amount in (None, ""):
        return None
    try:
        amount = Decimal(str(amount))
    except ArithmeticError as error:
        raise DomainError(_l("Enter the amount as a number."), field="amount") from error
    if amount < 0:
        raise DomainError(_l("The amount cannot be negative."), field="amount")
    return amount.quantize(Decimal("0.01"))


def create_deal(customer: Customer, by: User, *, title: str, grade: Grade,
                stage: Stage = Stage.INQUIRY, amount=None, expected_close: date | None = None,
                owner: User | None = None) -> Deal:
    """A new deal for the customer's owner (or `owner`); pool customers are claimed first."""
    owner_id = owner.id if owner else customer.owner_id
    if owner_id is None:
        raise DomainError(_l("Customers in the public pool have no deals; claim it first."))
    title = (title or "").strip()
    if not title:
        raise DomainError(_l("Give the deal a title."), field="title")
    if stage == Stage.LOST:
        raise DomainError(_l("A new deal cannot start as lost."), field="stage")
    deal = Deal(customer_id=customer.id, owner_id=owner_id, title=title[:200],
                amount=_clean_amount(amount), grade=grade, stage=Stage.INQUIRY,
                created_by_id=by.id if by else None)
    if expected_close is None:
        expected_close = _default_close(owner_id, grade)
    deal.expected_close = expected_close
    db.session.add(deal)
    db.session.flush()
    _record(deal, by, DealChange.CREATE, None, Stage.INQUIRY, 0)
    if stage != Stage.INQUIRY:
        _move(deal, by, stage, amount=None, reason=None)
    return deal


def _default_close(owner_id: int, grade: Grade) -> date:
    owner = db.session.get(User, owner_id)
    days = grade_days(owner.team if owner else None)[grade]
    return (utcnow() + timedelta(days=days)).date()


def _check_version(deal: Deal, expected_version: int | None) -> None:
    if expected_version is not None and deal.version != expected_version:
        raise StaleEdit()


def _move(deal: Deal, by: User | None, stage: Stage, *, amount, reason) -> None:
    if stage == deal.stage:
        return
    amount = _clean_amount(amount)
    if stage in (Stage.WON, Stage.AFTER_SALES):  # after-sales is won and then some
        amount = amount if amount is not None else deal.amount
        if not amount:
            raise DomainError(_l("A won deal needs its amount."), field="amount")
        deal.amount = amount
    elif amount is not None:
        deal.amount = amount
    reason = (reason or "").strip()
    if stage == Stage.LOST:
        if not reason:
            raise DomainError(_l("Say why the deal was lost."), field="reason")
        deal.lost_reason = reason[:300]
    elif deal.stage == Stage.LOST:
        deal.lost_reason = None  # reopened: the old reason no longer holds
    before = deal.stage
    deal.stage = stage
    deal.closed_at = utcnow() if stage in (Stage.WON, Stage.AFTER_SALES, Stage.LOST) else None
    _record(deal, by, DealChange.STAGE, before, stage, _direction_of_stage(before, stage),
            note=reason[:300] if stage == Stage.LOST else None)
    if stage in (Stage.WON, Stage.AFTER_SALES):
        protect_for_good(deal.customer_id)


def protect_for_good(customer_id: int) -> None:
    """A won deal settles the pool question: an owned customer stays protected for good
    (protected_until None while owned), so the expiry sweep never returns it."""
    db.session.execute(update(Customer)
                       .where(Customer.id == customer_id, Customer.owner_id.is_not(None),
                              Customer.protected_until.is_not(None))
                       .values(protected_until=None, version=Customer.version + 1)
                       .execution_options(synchronize_session=False))


def follow_customers(customer_ids: list[int], to_user_id: int) -> int:
    """Open deals go with their customers to a new owner (a transfer or a handover); won,
    after-sales and lost deals stay in the books of whoever closed them."""
    result = db.session.execute(
        update(Deal).where(Deal.customer_id.in_(customer_ids), Deal.stage.in_(OPEN_STAGES),
                           Deal.owner_id != to_user_id)
        .values(owner_id=to_user_id, version=Deal.version + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount


def _grade(deal: Deal, by: User | None, grade: Grade) -> None:
    if grade == deal.grade:
        return
    before = deal.grade
    deal.grade = grade
    deal.graded_at = utcnow()
    _record(deal, by, DealChange.GRADE, before, grade, _direction_of_grade(before, grade))


def move_deal(deal: Deal, by: User, stage: Stage, *, amount=None, reason=None,
              expected_version: int | None = None) -> Deal:
    """Move a deal to another stage, forwards or back; won needs an amount, lost a reason."""
    _check_version(deal, expected_version)
    _move(deal, by, stage, amount=amount, reason=reason)
    db.session.flush()
    return deal


def update_deal(deal: Deal, by: User, expected_version: int, *, title: str, grade: Grade,
                stage: Stage, amount=None, expected_close: date | None = None,
                reason: str | None = None) -> Deal:
    """Save the edit form; refused if someone saved the deal since it was opened."""
    _check_version(deal, expected_version)
    title = (title or "").strip()
    if not title:
        raise DomainError(_l("Give the deal a title."), field="title")
    deal.title = title[:200]
    deal.expected_close = expected_close or _default_close(deal.owner_id, grade)
    cleaned = _clean_amount(amount)
    if stage == deal.stage or cleaned is not None:
        deal.amount = cleaned
    if stage == deal.stage == Stage.LOST and (reason or "").strip():
        deal.lost_reason = reason.strip()[:300]
    _move(deal, by, stage, amount=cleaned, reason=reason)
    if deal.stage in (Stage.WON, Stage.AFTER_SALES) and not deal.amount:
        raise DomainError(_l("A won deal needs its amount."), field="amount")
    _grade(deal, by, grade)
    db.session.flush()
    return deal


def regrade_deal(deal: Deal, by: User, grade: Grade, expected_version: int | None = None
                 ) -> Deal:
    _check_version(deal, expected_version)
    _grade(deal, by, grade)
    db.session.flush()
    return deal


def review_deal(deal: Deal, reviewer: User, note: str | None) -> DealReview:
    review = DealReview(deal_id=deal.id, reviewer_id=reviewer.id,
                        note=(note or "").strip()[:2000] or None)
    db.session.add(review)
    db.session.flush()
    return review


def grade_moves_on(day: date, zone: ZoneInfo, owner_ids=None) -> dict[int, tuple[int, int]]:
    """Upgrades and downgrades per rep on one calendar day in `zone` (a team's day)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    return grade_moves(start, start + timedelta(days=1), owner_ids)


def grade_moves(start: datetime, end: datetime, owner_ids=None) -> dict[int, tuple[int, int]]:
    """Upgrades and downgrades of grade per rep between two instants (one local day, say):
    {owner id: (upgrades, downgrades)}, counted in one grouped query."""
    query = (select(DealEvent.owner_id,
                    func.sum(case((DealEvent.direction > 0, 1), else_=0)),
                    func.sum(case((DealEvent.direction < 0, 1), else_=0)))
             .where(DealEvent.kind == DealChange.GRADE, DealEvent.at >= start,
                    DealEvent.at < end)
             .group_by(DealEvent.owner_id))
    if owner_ids is not None:
        query = query.where(DealEvent.owner_id.in_(owner_ids))
    return {owner: (int(ups or 0), int(downs or 0))
            for owner, ups, downs in db.session.execute(query)}
