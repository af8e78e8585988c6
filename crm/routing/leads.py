"""The public lead form: a tokenised link per team that anyone may fill in without
signing in. A honeypot field catches bots, Redis counts submissions per address and per
form, a lead that matches an existing customer creates nothing (like any creation), and a
new one is routed by the team's rules at once."""

from flask import current_app
from sqlalchemy import select

from crm.accounts.models import Team
from crm.customers.editing import DuplicateCustomer, create_customer
from crm.extensions import db
from crm.queue import get_redis
from crm.routing.models import TeamRouting
from crm.routing.routing import route_customers

# The source channel a form's leads carry (data, not UI text: stays as stored).
LEAD_FORM_SOURCE = "线索表单"
# Submissions allowed per visitor address per window, and per form per window.
PER_ADDRESS = (5, 600)   # 5 per 10 minutes
PER_FORM = (200, 3600)   # 200 per hour


def team_of_token(token: str) -> Team | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Team).join(TeamRouting, TeamRouting.team_id == Team.id)
                             .where(TeamRouting.lead_form_token == token))


def over_rate_limit(team_id: int, address: str) -> bool:
    """Count this submission; True when the address or the form is over its limit."""
    config = current_app.config
    redis = get_redis()
    pipe = redis.pipeline(transaction=True)
    keys = ((f"crm:leadform:{team_id}:ip:{address}",
             tuple(config.get("LEAD_FORM_PER_ADDRESS", PER_ADDRESS))),
            (f"crm:leadform:{team_id}:all", tuple(config.get("LEAD_FORM_PER_FORM", PER_FORM))))
    for key, (_limit, window) in keys:
        pipe.set(key, 0, ex=window, nx=True)  # the window starts with the first submission
        pipe.incr(key)
    counts = pipe.execute()[1::2]
    return any(count > limit for count, (_key, (limit, _w)) in zip(counts, keys, strict=True))


def receive_lead(team: Team, values: dict) -> int | None:
    """Create and route the lead; None when it is a customer we already have (nothing is
    written and the visitor is thanked all the same: the form reveals no customer)."""
    try:
        customer = create_customer({
            "kind": "organisation" if (values.get("organisation") or "").strip() else "person",
            "name": values["name"], "organisation": values.get("organisation"),
            "phone": values["phone"], "needs": (values.get("needs") or "")[:2000] or None,
            "source_channel": LEAD_FORM_SOURCE}, None)
    except DuplicateCustomer:
        return None
    route_customers([customer.id], team, None)
    return customer.id
