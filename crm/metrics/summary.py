"""One team's (or one person's) numbers for a period, as plain data: the dashboard shows it,
a report keeps it on its row and writes it to XLSX and CSV, so they cannot disagree."""

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.accounts.models import TEAM_DEFAULTS, User
from crm.clock import team_zone  # noqa: F401  (the one rule; pages import it from here)
from crm.metrics.periods import Period
from crm.metrics.registry import METRICS, Window, compute

TILES = ("new_customers", "visits", "calls", "new_a_deals", "won_deals", "won_amount",
         "satisfaction_score", "survey_response_rate")
PER_PERSON = ("visits", "calls", "new_customers", "new_a_deals", "won_amount",
              "reviews_received", "review_score", "satisfaction_score", "survey_response_rate")
TRENDS = ("visits", "new_a_deals")
COVERAGE = ("recordings", "recordings_reviewed")
ACTIVITY = ("follow_ups", "revisits_on_time", "new_deals", "grade_upgrades",
            "grade_downgrades", "lost_deals", "pool_returns", "reviews_done",
            "customers_created", "customers_claimed")
# This many days in a row without a new A deal is a drought: the team's own setting
# (Team.drought_days, the one its managers are alerted by), the default without a team.
DROUGHT_DAYS = TEAM_DEFAULTS.drought_days


def plain(value):
    """JSON-safe: amounts as strings with two decimals, everything else as is."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def summarise(people: list[User], period: Period, zone: ZoneInfo, *, people_query=None,
              drought_days: int | None = None) -> dict:
    """Everything the dashboard and a report show, in one metrics statement."""
    from crm.metrics.definitions import FUNNEL_STAGES

    ids = [p.id for p in people]
    window = Window(people_query if people_query is not None else
                    select(User.id).where(User.id.in_(ids)), period, zone)
    funnel_names = [f"reached_{s.value}{suffix}" for s in FUNNEL_STAGES
                    for suffix in ("", "_amount")]
    names = list(dict.fromkeys(TILES + PER_PERSON + COVERAGE + ACTIVITY + tuple(funnel_names)))
    figures = compute(names, window, daily=TRENDS)

    funnel, previous = [], None
    for stage in FUNNEL_STAGES:
        count = figures.total(f"reached_{stage.value}")
        conversion = round(count / previous, 3) if previous else None
        funnel.append({"stage": stage.value, "count": count,
                       "amount": plain(figures.total(f"reached_{stage.value}_amount")),
                       "conversion": conversion})
        previous = count

    trends = {}
    for name in TRENDS:
        trends[name] = [{"day": day.isoformat(), "value": value}
                        for day, value in figures.daily(name)]
    drought_days = drought_days or DROUGHT_DAYS
    _mark_droughts(trends["new_a_deals"], drought_days)

    recordings = figures.total("recordings")
    reviewed = figures.total("recordings_reviewed")
    per_person = [{"id": p.id, "name": p.name,
                   **{name: plain(figures.person(name, p.id)) for name in PER_PERSON}}
                  for p in people]
    return {
        "period": {"kind": period.kind, "start": period.start.isoformat(),
                   "end": period.end.isoformat(), "zone": str(zone)},
        "totals": {name: plain(figures.total(name)) for name in names
                   if not name.startswith("reached_")},
        "tiles": list(TILES),
        "funnel": funnel,
        "trends": trends,
        "per_person": per_person,
        "per_person_metrics": list(PER_PERSON),
        "drought_days": drought_days,
        "coverage": {"recordings": recordings, "reviewed": reviewed,
                     "share": round(reviewed / recordings, 3) if recordings else None},
    }


def _mark_droughts(points: list[dict], days: int = DROUGHT_DAYS) -> None:
    run: list[dict] = []
    for point in points + [{"value": 1}]:
        if not point["value"]:
            run.append(point)
            continue
        for dry in run:
            dry["drought"] = len(run) >= days
        run = []
    for point in points:
        point.setdefault("drought", False)


def metric_label(name: str) -> str:
    metric = METRICS.get(name)
    return str(metric.label) if metric else name


def metric_unit(name: str) -> str:
    metric = METRICS.get(name)
    return metric.unit if metric else "count"
