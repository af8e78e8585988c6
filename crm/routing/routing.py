"""Routing new customers to reps: the team's rules in order, then the eligible reps by
specialty, then the one with the least open work (ties round-robin), never an inactive or
away rep nor one at their holding limit. No eligible rep: the customer stays in the public
pool and the team's manager is told.

Routing a team's leads takes the team's routing row first (an UPDATE that bumps its turn):
on PostgreSQL a row lock, on SQLite the database's write lock. Two leads for the same team
are therefore routed one after the other, the second reading the first one's assignment,
so concurrent leads spread evenly and nobody goes over their limit.

Every decision is kept on the ROUTE ownership event as `routing` (rule, candidates with
their load and why any were passed over, and why the owner was chosen); `explain` turns it
into a sentence in the reader's language.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, literal, select, update

from crm import access
from crm.accounts.models import Team, User
from crm.accounts.teams import rules_for
from crm.audit.log import record_many
from crm.audit.models import AuditAction
from crm.clock import local_today, utcnow
from crm.columns import UTCDateTime
from crm.customers.history import log_ownership
from crm.customers.models import Customer, OwnershipChange
from crm.extensions import db
from crm.notifications.inbox import notify
from crm.notifications.models import NotificationKind
from crm.pipeline.deals import follow_customers
from crm.pipeline.models import OPEN_STAGES, Deal
from crm.routing.models import BalanceBy, RoutingRule, TeamRouting
from crm.sql import insert_or_ignore

# Why the owner was chosen (or nobody): stored as codes, rendered by `explain`.
FEWEST = "fewest"          # the least open work among the eligible
ROUND_ROBIN = "round_robin"  # tied on work: the one who waited longest since their last lead
NO_RULE = "no_rule"        # no rule's conditions matched the customer
NONE_ELIGIBLE = "none_eligible"  # rules matched, but every rep was away, full or unsuited
# Why a rep was passed over.
AWAY, FULL, UNSUITED = "away", "full", "unsuited"
CANDIDATES_KEPT = 12  # candidates kept on an event: enough to explain, never the whole team


def split_values(text: str | None) -> set[str]:
    """"制造业, 医疗，教育" → {"制造业", "医疗", "教育"} (compared without case)."""
    text = (text or "").replace("，", ",").replace("、", ",").replace(";", ",")
    return {part.strip().lower() for part in text.split(",") if part.strip()}


def _value(customer, name: str) -> str:
    value = customer.get(name) if isinstance(customer, dict) else getattr(customer, name)
    return str(value or "").strip().lower()


def rule_matches(rule: RoutingRule, customer) -> bool:
    """Every condition the rule sets holds for the customer (an empty one always holds)."""
    for conditions, name in ((rule.industries, "industry"), (rule.size_bands, "size_band"),
                             (rule.regions, "region"), (rule.sources, "source_channel")):
        wanted = split_values(conditions)
        if wanted and _value(customer, name) not in wanted:
            return False
    return True


@dataclass
class Person:
    """A rep as routing sees them; loads are counted once and then kept up to date in
    memory while a batch is routed."""

    id: int
    name: str
    industries: set[str]
    size_band: str
    regions: set[str]
    away_until: date | None
    limit: int
    holding: int
    open_deals: int
    turn: int | None

    def load(self, balance_by: BalanceBy) -> int:
        return self.open_deals if balance_by == BalanceBy.DEALS else self.holding

    def suits(self, rule: RoutingRule, customer) -> bool:
        if rule.match_industry and _value(customer, "industry") not in self.industries:
            return False
        if rule.match_size and (not self.size_band
                                or _value(customer, "size_band") != self.size_band):
            return False
        return not (rule.match_region and _value(customer, "region") not in self.regions)

    def away(self, today: date) -> bool:
        return self.away_until is not None and self.away_until >= today


@dataclass
class Decision:
    owner: Person | None
    because: str
    rule: RoutingRule | None = None
    candidates: list[dict] = field(default_factory=list)

    def as_json(self, balance_by: BalanceBy) -> dict:
        return {"because": self.because, "by": balance_by.value,
                "rule_id": self.rule.id if self.rule else None,
                "rule": self.rule.name if self.rule else None,
                "candidates": self.candidates[:CANDIDATES_KEPT]}


@dataclass
class Router:
    """One team's rules and people, loaded once; `decide` routes one customer and counts
    the assignment so the next decision sees it."""

    team: Team
    balance_by: BalanceBy
    rules: list[RoutingRule]
    people: list[Person]
    turn: int
    today: date

    def decide(self, customer) -> Decision:
        matched = False
        for rule in self.rules:
            if not rule_matches(rule, customer):
                continue
            matched = True
            candidates, available = [], []
            for person in self.people:
                if not person.suits(rule, customer):
                    continue
                status = (AWAY if person.away(self.today) else
                          FULL if person.holding >= person.limit else "ok")
                candidates.append({"id": person.id, "name": person.name,
                                   "load": person.load(self.balance_by), "status": status})
                if status == "ok":
                    available.append(person)
            if not available:
                continue  # the next rule may still find someone
            least = min(person.load(self.balance_by) for person in available)
            tied = [person for person in available if person.load(self.balance_by) == least]
            # Round-robin among equals: whoever's last lead is oldest (never routed first).
            chosen = min(tied, key=lambda person: (person.turn or 0, person.id))
            for candidate in candidates:
                if candidate["id"] == chosen.id:
                    candidate["status"] = "chosen"
            candidates.sort(key=lambda c: (c["status"] != "chosen", c["load"], c["id"]))
            return Decision(chosen, ROUND_ROBIN if len(tied) > 1 else FEWEST, rule, candidates)
        return Decision(None, NONE_ELIGIBLE if matched else NO_RULE)

    def assign(self, person: Person) -> None:
        """Count an assignment of a new customer (it has no open deal yet)."""
        self.turn += 1
        person.holding += 1
        person.turn = self.turn


def team_rules(team_id: int) -> list[RoutingRule]:
    return list(db.session.scalars(select(RoutingRule).where(RoutingRule.team_id == team_id)
                                   .order_by(RoutingRule.position, RoutingRule.id)))


def settings_of(team_id: int) -> TeamRouting:
    """The team's routing settings (the defaults when it never saved any)."""
    return db.session.get(TeamRouting, team_id) or TeamRouting(
        team_id=team_id, balance_by=BalanceBy.CUSTOMERS, turn=0)


def _lock(team_id: int) -> int:
    """Take the team's routing lock (see the module's notes); returns the turn so far."""
    db.session.execute(insert_or_ignore(TeamRouting, ["team_id"]).values(
        team_id=team_id, balance_by=BalanceBy.CUSTOMERS.value, turn=0))
    return db.session.execute(
        update(TeamRouting).where(TeamRouting.team_id == team_id)
        .values(turn=TeamRouting.turn + 1).returning(TeamRouting.turn)
        .execution_options(synchronize_session=False)).scalar_one()


def people_of(team: Team) -> list[Person]:
    """Everyone routing may give the team's leads to, with their loads: three queries."""
    users = list(db.session.scalars(access.routing_people(team)))
    ids = [user.id for user in users]
    holding = dict(db.session.execute(
        select(Customer.owner_id, func.count()).where(Customer.owner_id.in_(ids))
        .group_by(Customer.owner_id)).all()) if ids else {}
    deals = dict(db.session.execute(
        select(Deal.owner_id, func.count()).where(Deal.owner_id.in_(ids),
                                                  Deal.stage.in_(OPEN_STAGES))
        .group_by(Deal.owner_id)).all()) if ids else {}
    limits = {}
    people = []
    for user in users:
        if user.team_id not in limits:
            limits[user.team_id] = rules_for(user).holding_limit
        people.append(Person(
            id=user.id, name=user.name, industries=split_values(user.specialty_industries),
            size_band=(user.specialty_size_band or "").strip().lower(),
            regions=split_values(user.specialty_regions), away_until=user.away_until,
            limit=limits[user.team_id], holding=holding.get(user.id, 0),
            open_deals=deals.get(user.id, 0), turn=user.routed_turn))
    return people


def _today() -> date:
    try:
        return local_today()
    except RuntimeError:  # no app or request context to read the zone from
        return utcnow().date()


def router_for(team: Team, *, lock: bool) -> Router:
    """Lock (to route for real) or not (a dry run), then load the rules and people."""
    turn = _lock(team.id) if lock else settings_of(team.id).turn
    return Router(team=team, balance_by=BalanceBy(settings_of(team.id).balance_by),
                  rules=team_rules(team.id), people=people_of(team), turn=turn,
                  today=_today())


def route_customers(customer_ids: list[int], team: Team, by_user: User | None) -> list[Decision]:
    """Route these customers (those still in the pool) to the team's reps, in id order.

    Writes the owners (one UPDATE per owner), one ROUTE ownership event per customer with
    the decision, the reps' turns, and tells the team's managers about any left in the pool.
    The caller owns the transaction.
    """
    if not customer_ids:
        return []
    router = router_for(team, lock=True)
    customers = list(db.session.scalars(
        select(Customer).where(Customer.id.in_(customer_ids), Customer.owner_id.is_(None))
        .order_by(Customer.id)))
    decisions, owners, events = [], {}, []
    for customer in customers:
        decision = router.decide(customer)
        if decision.owner is not None:
            router.assign(decision.owner)
            owners.setdefault(decision.owner.id, []).append(customer.id)
        decisions.append(decision)
        events.append({"customer_id": customer.id, "kind": OwnershipChange.ROUTE,
                       "from_user_id": None,
                       "to_user_id": decision.owner.id if decision.owner else None,
                       "by_user_id": by_user.id if by_user else None,
                       "routing": decision.as_json(router.balance_by)})
    now = utcnow()
    moved = []
    for owner_id, ids in owners.items():
        days = rules_for(db.session.get(User, owner_id)).protection_days
        result = db.session.execute(
            update(Customer).where(Customer.id.in_(ids), Customer.owner_id.is_(None))
            .values(owner_id=owner_id, claimed_at=now,
                    protected_until=literal(now + timedelta(days=days), UTCDateTime()),
                    version=Customer.version + 1)
            .returning(Customer.id).execution_options(synchronize_session=False))
        moved += result.scalars().all()
        follow_customers(ids, owner_id)
        last_turn = max(p.turn for p in router.people if p.id == owner_id)
        db.session.execute(update(User).where(User.id == owner_id)
                           .values(routed_turn=last_turn)
                           .execution_options(synchronize_session=False))
    db.session.execute(update(TeamRouting).where(TeamRouting.team_id == team.id)
                       .values(turn=router.turn).execution_options(synchronize_session=False))
    log_ownership(events)
    if moved and by_user is not None:
        record_many(AuditAction.TRANSFER, by_user.id, moved, kind=OwnershipChange.ROUTE.value)
    left = [customer for customer, decision in zip(customers, decisions, strict=True)
            if decision.owner is None]
    if left:
        tell_managers(team, left)
    for customer in customers:
        db.session.expire(customer)
    return decisions


def tell_managers(team: Team, customers: list[Customer]) -> None:
    """The managers nearest above the team hear of leads nobody could take: one notification
    per batch (an import of a thousand is one message, not a thousand), once."""
    first = customers[0]
    many = len(customers) > 1
    for manager_id in db.session.scalars(access.routing_managers(team)):
        notify(manager_id, NotificationKind.LEAD_UNROUTED,
               dedupe_key=f"lead_unrouted:{first.id}:{manager_id}:{len(customers)}",
               link="/customers?tab=pool" if many else f"/customers/{first.id}",
               customer_id=None if many else first.id,
               params={"name": first.name, "count": len(customers), "team": team.name})


def dry_run(team: Team, samples: list[dict]) -> list[Decision]:
    """Where these leads would go, in order, if they arrived now: nothing is written."""
    router = router_for(team, lock=False)
    decisions = []
    for sample in samples:
        decision = router.decide(sample)
        if decision.owner is not None:
            router.assign(decision.owner)
        decisions.append(decision)
    return decisions


def explain(routing: dict | None) -> str:
    """The stored decision as one sentence in the reader's language."""
    if not routing:
        return ""
    because = routing.get("because")
    if because == NO_RULE:
        return _("No routing rule matched this customer; it stays in the public pool.")
    if because == NONE_ELIGIBLE:
        return _("No rep could take it (away, at their holding limit or without the "
                 "specialty); it stays in the public pool and the manager was told.")
    work = (_("open deals") if routing.get("by") == BalanceBy.DEALS.value
            else _("open customers"))
    others = ", ".join(
        f"{c['name']} ({c['load']})" if c["status"] == "ok" else
        f"{c['name']} ({_('away') if c['status'] == AWAY else _('at limit')})"
        for c in routing.get("candidates", []) if c["status"] != "chosen")
    chosen = next((c for c in routing.get("candidates", []) if c["status"] == "chosen"), None)
    load = chosen["load"] if chosen else 0
    if because == ROUND_ROBIN:
        text = _("Rule “%(rule)s”: tied with others on %(load)d %(work)s, and next in turn.",
                 rule=routing.get("rule") or "", load=load, work=work)
    else:
        text = _("Rule “%(rule)s”: the fewest %(work)s (%(load)d).",
                 rule=routing.get("rule") or "", load=load, work=work)
    if others:
        text += " " + _("Other candidates: %(others)s.", others=others)
    return text
