"""The customer list: tabs, search and filters as one query, shared by the page and export."""

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from crm import access
from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.models import Customer, Tag, Tier, customer_tags
from crm.customers.search import apply_search
from crm.params import int_arg
from crm.routing.fit import fit_at_least

TAB_LABELS = {"mine": _l("Mine"), "team": _l("Team"), "pool": _l("Pool"), "all": _l("All")}
# "Silent for N days" beyond a century means nothing; more would overflow a date.
MAX_SILENT_DAYS = 36500
FILTER_FIELDS = ("q", "tier", "industry", "region", "size_band", "tag", "owner_id",
                 "silent_days", "expiring", "fit_min", "sort")
SORTS = ("", "fit")  # newest first, or best fit first (crm.routing.fit)


@dataclass
class ListParams:
    tab: str
    q: str = ""
    tier: str = ""
    industry: str = ""
    region: str = ""
    size_band: str = ""
    tag: str = ""
    owner_id: int | None = None
    silent_days: int | None = None
    expiring: bool = False
    fit_min: int | None = None
    sort: str = ""

    @classmethod
    def from_args(cls, args, user: User) -> "ListParams":
        tabs = access.list_tabs(user)
        tab = args.get("tab") if args.get("tab") in tabs else tabs[0]

        return cls(tab=tab, q=(args.get("q") or "").strip()[:100],
                   tier=args.get("tier") if args.get("tier") in set(Tier) else "",
                   industry=(args.get("industry") or "").strip()[:60],
                   region=(args.get("region") or "").strip()[:60],
                   size_band=(args.get("size_band") or "").strip()[:20],
                   tag=(args.get("tag") or "").strip()[:40],
                   owner_id=int_arg(args, "owner_id"),
                   silent_days=int_arg(args, "silent_days", maximum=MAX_SILENT_DAYS),
                   expiring=args.get("expiring") == "1",
                   fit_min=int_arg(args, "fit_min", maximum=100) or None,
                   sort=args.get("sort") if args.get("sort") in SORTS else "")

    def as_args(self) -> dict:
        """The non-empty parameters, for links (load more, export) that keep the filters."""
        values = {"tab": self.tab, "q": self.q, "tier": self.tier, "industry": self.industry,
                  "region": self.region, "size_band": self.size_band, "tag": self.tag,
                  "owner_id": self.owner_id, "silent_days": self.silent_days,
                  "expiring": "1" if self.expiring else "", "fit_min": self.fit_min,
                  "sort": self.sort}
        return {k: v for k, v in values.items() if v not in ("", None)}


def customer_query(user: User, params: ListParams) -> Select:
    """Customers the user may see in this tab, narrowed by search and filters."""
    query = apply_search(access.customers_in_tab(user, params.tab), params.q,
                         contact_details_in_pool=access.sees_every_team(user))
    if params.tier:
        query = query.where(Customer.tier == Tier(params.tier))
    for field in ("industry", "region", "size_band"):
        value = getattr(params, field)
        if value:
            query = query.where(getattr(Customer, field) == value)
    if params.tag:
        tagged = select(customer_tags.c.customer_id).join(Tag).where(Tag.name == params.tag)
        query = query.where(Customer.id.in_(tagged))
    if params.owner_id:
        query = query.where(Customer.owner_id == params.owner_id)
    if params.silent_days is not None:
        cutoff = utcnow() - timedelta(days=params.silent_days)
        query = query.where((Customer.last_contact_at.is_(None))
                            | (Customer.last_contact_at < cutoff))
    if params.expiring:
        query = query.where(Customer.protected_until.is_not(None),
                            Customer.protected_until <= utcnow() + timedelta(days=7))
    if params.fit_min:
        query = query.where(fit_at_least(access.profile_team_id(user), params.fit_min))
    return query


def distinct_values(column, limit: int = 200) -> Select:
    """The column's distinct values in order, read as a skip scan of its index: each step
    asks the index for the next larger value, so 100,000 customers in eight industries cost
    eight index probes, not a scan of every row (SELECT DISTINCT reads them all)."""
    first = select(func.min(column).label("value")).cte("distinct_values", recursive=True)
    previous = first.alias("previous")
    following = select(select(func.min(column)).where(column > previous.c.value)
                       .scalar_subquery()).where(previous.c.value.is_not(None))
    values = first.union_all(following)
    return (select(values.c.value).where(values.c.value.is_not(None))
            .order_by(values.c.value).limit(limit))
