"""Each rep's load against the team's median, and a suggested rebalance a manager confirms
as a transfer (流转)."""

from dataclasses import dataclass
from statistics import median

from sqlalchemy import func, select

from crm.accounts.models import Team, User
from crm.customers.models import Customer
from crm.customers.ownership import transfer_customers
from crm.extensions import db
from crm.pipeline.models import OPEN_STAGES, Deal
from crm.routing.models import BalanceBy
from crm.routing.routing import _today, people_of, settings_of

# A rep more than this far from the median is worth a suggestion.
MIN_MOVE = 2


@dataclass
class Load:
    id: int
    name: str
    customers: int
    deals: int
    load: int
    limit: int
    away: bool


@dataclass
class Move:
    from_id: int
    from_name: str
    to_id: int
    to_name: str
    count: int


def loads(team: Team) -> tuple[list[Load], float, BalanceBy]:
    balance_by = BalanceBy(settings_of(team.id).balance_by)
    today = _today()
    rows = [Load(p.id, p.name, p.holding, p.open_deals, p.load(balance_by), p.limit,
                 p.away(today)) for p in people_of(team)]
    middle = median([row.load for row in rows]) if rows else 0
    return rows, middle, balance_by


def suggest(rows: list[Load], middle: float) -> list[Move]:
    """Pair the most loaded with the least loaded until each is near the median; nobody
    away or at their limit receives."""
    over = sorted(([r, int(r.load - middle)] for r in rows if r.load - middle >= MIN_MOVE),
                  key=lambda pair: -pair[1])
    under = sorted(([r, int(middle - r.load)] for r in rows
                    if middle - r.load >= MIN_MOVE and not r.away),
                   key=lambda pair: -pair[1])
    moves = []
    for donor in over:
        for receiver in under:
            room = min(receiver[1], receiver[0].limit - receiver[0].customers)
            amount = min(donor[1], room)
            if amount <= 0:
                continue
            moves.append(Move(donor[0].id, donor[0].name, receiver[0].id, receiver[0].name,
                              amount))
            donor[1] -= amount
            receiver[1] -= amount
            receiver[0].customers += amount
            if donor[1] <= 0:
                break
    return moves


def customers_to_move(from_user: User, amount: int, balance_by: BalanceBy) -> list[int]:
    """Which of the rep's customers a rebalance moves: never one protected for good (a won
    deal); by customers the least recently contacted first; by deals, customers carrying
    open deals until `amount` deals move."""
    open_deals = (select(func.count()).where(Deal.customer_id == Customer.id,
                                             Deal.owner_id == from_user.id,
                                             Deal.stage.in_(OPEN_STAGES))
                  .correlate(Customer).scalar_subquery())
    query = (select(Customer.id, open_deals)
             .where(Customer.owner_id == from_user.id, Customer.protected_until.is_not(None))
             .order_by(Customer.last_contact_at.is_not(None), Customer.last_contact_at,
                       Customer.id))
    if balance_by == BalanceBy.DEALS:
        chosen, moved = [], 0
        for customer_id, deals in db.session.execute(query.where(open_deals > 0)):
            if moved >= amount:
                break
            chosen.append(customer_id)
            moved += deals
        return chosen
    return list(db.session.scalars(query.with_only_columns(Customer.id).limit(amount)))


def rebalance(team: Team, from_user: User, to_user: User, amount: int, by: User) -> int:
    balance_by = BalanceBy(settings_of(team.id).balance_by)
    ids = customers_to_move(from_user, amount, balance_by)
    return transfer_customers(ids, to_user, by, None)
