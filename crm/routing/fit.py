"""Fit scores (0–100) against each team's ideal customer profile, kept set-based.

A team's profile is a list of weighted values per field (industry, size band, region,
source channel, tier). A customer matches at most one value per field, so the best a
customer can score is the sum of each field's highest weight; its score is what it matches
as a share of that, rounded: 100 × matched ÷ best.

    profile: industry 制造业 ×3, industry 医疗 ×2, size large ×2, tier key ×1   (best 3+2+1 = 6)
    a large manufacturer of tier general: (3 + 2) / 6 → 83

Scores live in customer_fits (team, customer, score) and are rewritten by one DELETE and
one INSERT … SELECT: for the customers a flush created or whose profile fields changed
(a session hook, so every way of saving a customer keeps its score current), or for every
customer when a team's profile changes (the worker's job crm.routing.jobs.rescore_team:
about 1–3 s at 100,000 customers, too long to keep a request waiting).
"""

from sqlalchemy import Integer, and_, cast, delete, event, func, literal, or_, select
from sqlalchemy.orm import Session, with_expression

from crm.customers.models import Customer
from crm.extensions import db
from crm.routing.models import CustomerFit, ProfileCriterion, ProfileField
from crm.sql import insert_or_ignore

# The fields a profile weighs, and so the changes that move a score.
FIELDS = {ProfileField.INDUSTRY: Customer.industry, ProfileField.SIZE_BAND: Customer.size_band,
          ProfileField.REGION: Customer.region,
          ProfileField.SOURCE_CHANNEL: Customer.source_channel, ProfileField.TIER: Customer.tier}
FIELD_NAMES = tuple(field.value for field in FIELDS)


def _best_scores():
    """Per team with a profile: the highest score a customer can reach."""
    per_field = (select(ProfileCriterion.team_id, ProfileCriterion.field,
                        func.max(ProfileCriterion.weight).label("best"))
                 .where(ProfileCriterion.weight > 0)
                 .group_by(ProfileCriterion.team_id, ProfileCriterion.field).subquery())
    return (select(per_field.c.team_id, func.sum(per_field.c.best).label("best"))
            .group_by(per_field.c.team_id).subquery())


def _scores(customer_condition=None, team_id: int | None = None):
    """SELECT team_id, customer_id, score for every (team with a profile, customer)."""
    best = _best_scores()
    criterion = ProfileCriterion.__table__.alias("criterion")
    customers = Customer.__table__
    matches = or_(*[
        and_(criterion.c.field == field.value,
             func.lower(customers.c[column.key]) == func.lower(criterion.c.value))
        for field, column in FIELDS.items()])
    matched = func.coalesce(func.sum(criterion.c.weight), 0)
    score = cast(func.round(literal(100.0) * matched / best.c.best), Integer)
    query = (select(best.c.team_id, customers.c.id, score)
             .select_from(customers.join(best, literal(True)).outerjoin(
                 criterion, and_(criterion.c.team_id == best.c.team_id, matches)))
             .where(best.c.best > 0)
             .group_by(best.c.team_id, customers.c.id, best.c.best))
    if customer_condition is not None:
        query = query.where(customer_condition)
    if team_id is not None:
        query = query.where(best.c.team_id == team_id)
    return query


def _insert(query):
    # A row another transaction wrote meanwhile (a customer saved while a team is rescored)
    # was computed from the same profile: keep it.
    return insert_or_ignore(CustomerFit, ["team_id", "customer_id"]).from_select(
        ["team_id", "customer_id", "score"], query)


def refresh_team(team_id: int) -> None:
    """Every customer's fit against one team's (changed) profile."""
    db.session.execute(delete(CustomerFit).where(CustomerFit.team_id == team_id))
    db.session.execute(_insert(_scores(team_id=team_id)))


def refresh_customers(connection, customer_ids: list[int], *, new: bool = False) -> None:
    """These customers' fit against every team's profile (on the flush's own connection)."""
    customers = Customer.__table__
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start:start + 500]
        if not new:
            connection.execute(delete(CustomerFit).where(CustomerFit.customer_id.in_(chunk)))
        connection.execute(_insert(_scores(customers.c.id.in_(chunk))))


def _profile_changed(customer: Customer) -> bool:
    from sqlalchemy import inspect

    state = inspect(customer)
    return any(state.attrs[name].history.has_changes() for name in
               ("industry", "size_band", "region", "source_channel", "tier"))


@event.listens_for(Session, "after_flush")
def _keep_fits_current(session, _context):
    new = [obj.id for obj in session.new if isinstance(obj, Customer)]
    changed = [obj.id for obj in session.dirty
               if isinstance(obj, Customer) and obj.id is not None and _profile_changed(obj)]
    if new or changed:
        connection = session.connection()
        if new:
            refresh_customers(connection, new, new=True)
        if changed:
            refresh_customers(connection, changed)


def fit_column(team_id: int | None):
    """A scalar subquery: the customer's score against this team's profile (None: no
    profile)."""
    if team_id is None:
        return literal(None, Integer)
    return (select(CustomerFit.score)
            .where(CustomerFit.team_id == team_id, CustomerFit.customer_id == Customer.id)
            .scalar_subquery())


def by_fit(query, team_id: int):
    """A customer query joined to its fits against the team's profile, with the orderings
    for best fit first (keyset by score, then id)."""
    query = (query.join(CustomerFit, and_(CustomerFit.team_id == team_id,
                                          CustomerFit.customer_id == Customer.id))
             .options(with_expression(Customer.fit, CustomerFit.score)))
    return query, [CustomerFit.score.desc(), CustomerFit.customer_id.desc()]


def fit_at_least(team_id: int | None, score: int):
    """A condition on Customer: its fit against the team's profile is at least `score`."""
    if team_id is None:
        return literal(False)
    return Customer.id.in_(select(CustomerFit.customer_id).where(
        CustomerFit.team_id == team_id, CustomerFit.score >= score))


def fit_of(team_id: int | None, customer_id: int) -> int | None:
    if team_id is None:
        return None
    return db.session.scalar(select(CustomerFit.score).where(
        CustomerFit.team_id == team_id, CustomerFit.customer_id == customer_id))


def profile_of(team_id: int) -> list[ProfileCriterion]:
    return list(db.session.scalars(
        select(ProfileCriterion).where(ProfileCriterion.team_id == team_id)
        .order_by(ProfileCriterion.field, ProfileCriterion.weight.desc(),
                  ProfileCriterion.value)))


def set_profile(team_id: int, criteria: list[tuple[str, str, int]], *,
                rescore: bool = True) -> None:
    """Replace the team's profile with (field, value, weight) rows and rescore everyone
    (or leave that to crm.routing.jobs.rescore_team: `rescore=False`)."""
    db.session.execute(delete(ProfileCriterion).where(ProfileCriterion.team_id == team_id))
    seen = set()
    for field, value, weight in criteria:
        key = (field, value.strip().lower())
        if key in seen or not value.strip():
            continue
        seen.add(key)
        db.session.add(ProfileCriterion(team_id=team_id, field=ProfileField(field),
                                        value=value.strip(), weight=weight))
    db.session.flush()
    if rescore:
        refresh_team(team_id)


