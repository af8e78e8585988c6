"""Progress of goals, computed from crm.metrics, and the pace against the time gone by."""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import access
from crm.accounts.models import Team, User
from crm.extensions import db
from crm.goals.goals import period_of
from crm.goals.models import Goal
from crm.metrics.periods import Period, today_in
from crm.metrics.registry import LEVELS, METRICS, Window, compute_many
from crm.metrics.summary import team_zone

# Pace: on track at or above the share of the period gone by, behind a little under it, at
# risk well under it. Every state has a word beside its colour.
BEHIND_FROM = Decimal("0.8")
PACE_LABELS = {"done": _l("Reached"), "on_track": _l("On track"), "behind": _l("Behind"),
               "at_risk": _l("At risk")}


@dataclass
class Progress:
    goal: Goal
    actual: Decimal
    elapsed: float

    @property
    def share(self) -> float:
        return float(self.actual / self.goal.target) if self.goal.target else 1.0

    @property
    def percent(self) -> int:
        return int(round(self.share * 100))

    @property
    def pace(self) -> str:
        if self.actual >= self.goal.target:
            return "done"
        # An average (a score, a rate) is a level to hold, not a total that grows with time.
        level = METRICS[self.goal.metric].unit in LEVELS if self.goal.metric in METRICS \
            else False
        expected = self.goal.target * (1 if level else Decimal(str(self.elapsed)))
        if self.actual >= expected:
            return "on_track"
        if self.actual >= expected * BEHIND_FROM:
            return "behind"
        return "at_risk"

    @property
    def pace_label(self):
        return PACE_LABELS[self.pace]


def _people_of_team(team: Team):
    return select(User.id).where(User.team_id.in_(access.team_subtree_ids(team)),
                                 User.role.in_(access.HOLDS_CUSTOMERS))


def progress_of(goals: list[Goal]) -> dict[int, Progress]:
    """Progress of each goal, in one metrics statement for all of them."""
    groups: dict[tuple, list[Goal]] = {}
    for goal in goals:
        groups.setdefault((goal.team_id, goal.period, goal.period_start), []).append(goal)
    requests, contexts = [], []
    for (_team_id, goal_period, start), members in groups.items():
        zone = team_zone(members[0].team)
        period = period_of(goal_period, start)
        requests.append(({g.metric for g in members}, Window(_people_of_team(members[0].team),
                                                             period, zone)))
        contexts.append((members, period.elapsed(today_in(zone))))
    result = {}
    for figures, (members, elapsed) in zip(compute_many(requests), contexts, strict=True):
        for goal in members:
            if goal.user_id is None:
                value = figures.total(goal.metric)  # the window holds the team's people
            else:
                value = figures.person(goal.metric, goal.user_id)
            result[goal.id] = Progress(goal, Decimal(str(value or 0)), elapsed)
    return result


def current_goals_of(user: User) -> list[Goal]:
    """A person's own goals for the month, quarter and year running now in their team's zone,
    in one query (candidates from the last year, kept when their period holds today)."""
    if user.team_id is None:
        return []
    from datetime import timedelta

    from crm.clock import utcnow

    recent = utcnow().date() - timedelta(days=367)
    candidates = db.session.scalars(
        select(Goal).where(Goal.user_id == user.id, Goal.period_start >= recent)
        .options(joinedload(Goal.team)).order_by(Goal.period, Goal.metric)).all()
    current = []
    for goal in candidates:
        today = today_in(team_zone(goal.team))
        if period_of(goal.period, goal.period_start).start <= today < \
                period_of(goal.period, goal.period_start).end:
            current.append(goal)
    return current


def targets_for(user: User, team: Team | None, period: Period, zone) -> dict[str, Decimal]:
    """Targets for the dashboard's tiles: the team's goals (or the rep's own) for exactly the
    period shown."""
    if period.kind not in ("month", "quarter", "year"):
        return {}
    query = access.goals_scope(user).where(Goal.period == period.kind,
                                           Goal.period_start == period.start)
    if team is not None:
        query = query.where(Goal.team_id == team.id, Goal.user_id.is_(None))
    elif not access.looks_across_people(user):
        query = query.where(Goal.user_id == user.id)
    else:
        return {}
    return {goal.metric: goal.target for goal in db.session.scalars(query)}
