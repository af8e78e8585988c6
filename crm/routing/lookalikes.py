"""What the customer card shows of routing and the profile: the fit score, why routing
chose the owner, and look-alikes (同行大客户): on a won or key customer's card, pool
customers of the same industry and size, best fit first, each a tap from being claimed."""

from sqlalchemy import select
from sqlalchemy.orm import with_expression

from crm import access
from crm.customers.models import Customer, OwnershipChange, Tier
from crm.extensions import db
from crm.pipeline.models import Stage
from crm.routing.fit import fit_column
from crm.routing.models import CustomerFit
from crm.routing.routing import explain

LOOKALIKES_SHOWN = 5
WON_STAGES = (Stage.WON, Stage.AFTER_SALES)


def is_model_customer(customer: Customer, deals) -> bool:
    """A key customer, or one with a deal won."""
    return customer.tier == Tier.KEY or any(deal.stage in WON_STAGES for deal in deals)


def lookalikes(user, customer: Customer, team_id: int | None) -> list[Customer]:
    """Pool customers of the same industry (and size, when the card has one), best fit
    against the user's profile first, then the newest: one query."""
    if not customer.industry:
        return []
    fit = fit_column(team_id)
    query = (access.customers_in_tab(user, "pool")
             .where(Customer.id != customer.id, Customer.industry == customer.industry)
             .options(with_expression(Customer.fit, fit)))
    if customer.size_band:
        query = query.where(Customer.size_band == customer.size_band)
    if team_id is not None:
        query = query.order_by(fit.desc().nulls_last(), Customer.id.desc())
    else:
        query = query.order_by(Customer.id.desc())
    return list(db.session.scalars(query.limit(LOOKALIKES_SHOWN)))


def _fit_on_card(user, customer_id: int) -> tuple[int | None, int | None]:
    """(the profile team, the customer's fit against it) in one query: scores exist for
    exactly the teams with a profile, so the nearest scored team above the user's is the
    one access.profile_team_id names."""
    if user.team is None:
        return None, None
    ancestor_ids = [int(part) for part in user.team.path.strip("/").split("/") if part]
    scores = dict(db.session.execute(select(CustomerFit.team_id, CustomerFit.score).where(
        CustomerFit.customer_id == customer_id, CustomerFit.team_id.in_(ancestor_ids))).all())
    team_id = next((t for t in reversed(ancestor_ids) if t in scores), None)
    return team_id, scores.get(team_id)


def card_extras(user, customer: Customer, timeline, deals) -> dict:
    team_id, fit = _fit_on_card(user, customer.id)
    latest_ownership = next((entry.item for entry in timeline if entry.kind == "ownership"),
                            None)
    routed = (latest_ownership if latest_ownership is not None
              and latest_ownership.kind == OwnershipChange.ROUTE else None)
    model = is_model_customer(customer, deals)
    return {
        "fit": fit,
        "routing_why": explain(routed.routing) if routed is not None else "",
        "explain_routing": explain,
        "lookalikes": lookalikes(user, customer, team_id) if model else [],
        "shows_lookalikes": model and bool(customer.industry),
        "may_claim_lookalikes": access.may_claim(user),
    }
