"""The rules of goals: set a target, split a team's target over its members (equally or by
weights) and a quarter over its months, lock, and keep every change (who, when, from, to)."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.accounts.models import Team, User
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.goals.models import Goal, GoalChange, GoalPeriod
from crm.metrics.periods import Period, add_months
from crm.metrics.registry import LEVELS, METRICS

MAX_TARGET = Decimal("999999999999")


def period_of(goal_period: GoalPeriod | str, start: date) -> Period:
    return Period.containing(str(GoalPeriod(goal_period)), start)


def _clean_target(target, metric: str) -> Decimal:
    try:
        value = Decimal(str(target))
    except (ArithmeticError, ValueError):
        raise DomainError(_l("Enter the target as a number."), field="target") from None
    if not value.is_finite() or value < 0 or value > MAX_TARGET:
        raise DomainError(_l("Enter a target of 0 or more."), field="target")
    if METRICS[metric].unit == "count" and value != value.to_integral_value():
        raise DomainError(_l("This goal counts things: enter a whole number."), field="target")
    return value.quantize(Decimal("0.01"))


def _record(goal: Goal, by: User | None, field: str, before, after) -> None:
    db.session.add(GoalChange(goal_id=goal.id, by_user_id=by.id if by else None, field=field,
                              from_value=None if before is None else str(before),
                              to_value=None if after is None else str(after)))


def _find(team_id: int, user_id: int | None, metric: str, goal_period: GoalPeriod,
          start: date) -> Goal | None:
    query = select(Goal).where(Goal.team_id == team_id, Goal.metric == metric,
                               Goal.period == goal_period, Goal.period_start == start)
    query = query.where(Goal.user_id.is_(None) if user_id is None else Goal.user_id == user_id)
    return db.session.scalars(query).first()


def set_goal(team: Team, member: User | None, metric: str, goal_period: GoalPeriod | str,
             start: date, target, by: User | None, *, weight=None) -> Goal:
    """Create the goal or change its target. Who may change a locked goal is access's
    question (crm.access.may_edit_goal: managers yes, reps no)."""
    if metric not in METRICS or not METRICS[metric].goal:
        raise DomainError(_l("Choose what the goal counts."), field="metric")
    goal_period = GoalPeriod(goal_period)
    start = period_of(goal_period, start).start
    value = _clean_target(target, metric)
    goal = _find(team.id, member.id if member else None, metric, goal_period, start)
    if goal is None:
        goal = Goal(team_id=team.id, user_id=member.id if member else None, metric=metric,
                    period=goal_period, period_start=start, target=value, weight=weight,
                    created_by_id=by.id if by else None, locked=False)
        db.session.add(goal)
        db.session.flush()
        _record(goal, by, "created", None, value)
        return goal
    if goal.target != value:
        _record(goal, by, "target", goal.target, value)
        goal.target = value
    goal.weight = weight if weight is not None else goal.weight
    return goal


def change_target(goal: Goal, target, by: User, expected_version: int) -> Goal:
    if goal.version != expected_version:
        raise StaleEdit()
    team = goal.team
    return set_goal(team, goal.user, goal.metric, goal.period, goal.period_start, target, by)


def _shares(total: Decimal, weights: list[Decimal], whole: bool) -> list[Decimal]:
    """`total` split in proportion to `weights`, rounded down (to whole units or cents), the
    rest handed out one unit at a time from the largest weight: the parts add up exactly."""
    unit = Decimal("1") if whole else Decimal("0.01")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise DomainError(_l("Give at least one member a weight above 0."), field="weights")
    shares = [(total * w / weight_sum).quantize(unit, rounding=ROUND_DOWN) for w in weights]
    rest = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda n: (-weights[n], n))
    n = 0
    while rest >= unit and order:
        shares[order[n % len(order)]] += unit
        rest -= unit
        n += 1
    return shares


def split_to_members(goal: Goal, members: list[User], weights: list | None,
                     by: User) -> list[Goal]:
    """The team goal's target over its members; equal when `weights` is None."""
    if goal.user_id is not None:
        raise DomainError(_l("Only a team's goal is split among its members."))
    if not members:
        raise DomainError(_l("This team has nobody to share the goal with."))
    clean = []
    for weight in weights or [1] * len(members):
        try:
            value = Decimal(str(weight))
        except (ArithmeticError, ValueError):
            raise DomainError(_l("Weights are numbers of 0 or more."), field="weights") from None
        if not value.is_finite() or value < 0 or value > 1000:
            raise DomainError(_l("Weights are numbers of 0 or more."), field="weights")
        clean.append(value)
    whole = METRICS[goal.metric].unit == "count"
    # An average (a score, a rate) is not shared out: each member aims at the team's level.
    parts = ([goal.target] * len(members) if METRICS[goal.metric].unit in LEVELS
             else _shares(goal.target, clean, whole))
    return [set_goal(goal.team, member, goal.metric, goal.period, goal.period_start, part, by,
                     weight=weight if weights else None)
            for member, part, weight in zip(members, parts, clean, strict=True)]


def split_to_months(goal: Goal, by: User) -> list[Goal]:
    """A quarter's target over its three months, equally (the parts add up exactly)."""
    if goal.period != GoalPeriod.QUARTER:
        raise DomainError(_l("Only a quarter's goal is split into months."))
    whole = METRICS[goal.metric].unit == "count"
    parts = ([goal.target] * 3 if METRICS[goal.metric].unit in LEVELS
             else _shares(goal.target, [Decimal(1)] * 3, whole))
    return [set_goal(goal.team, goal.user, goal.metric, GoalPeriod.MONTH,
                     add_months(goal.period_start, n), part, by)
            for n, part in enumerate(parts)]


def set_locked(team: Team, goal_period: GoalPeriod | str, start: date, locked: bool,
               by: User) -> int:
    """Lock (or unlock) the team's goals for the period, its members' and its months' too."""
    period = period_of(goal_period, start)
    goals = db.session.scalars(select(Goal).where(
        Goal.team_id == team.id, Goal.period_start >= period.start,
        Goal.period_start < period.end, Goal.locked.is_not(locked))).all()
    for goal in goals:
        _record(goal, by, "locked", goal.locked, locked)
        goal.locked = locked
    return len(goals)


@dataclass(frozen=True)
class PartsCheck:
    members_sum: Decimal | None
    months_sum: Decimal | None
    target: Decimal

    @property
    def members_add_up(self) -> bool:
        return self.members_sum is None or self.members_sum == self.target

    @property
    def months_add_up(self) -> bool:
        return self.months_sum is None or self.months_sum == self.target


def parts_checks(goals: list[Goal]) -> dict[int, PartsCheck]:
    """For each team goal: what its members' goals and (for a quarter) its months add up to,
    in one grouped query."""
    team_goals = [g for g in goals if g.user_id is None]
    if not team_goals:
        return {}
    team_ids = {g.team_id for g in team_goals}
    rows = db.session.execute(
        select(Goal.team_id, Goal.user_id.is_(None), Goal.metric, Goal.period,
               Goal.period_start, func.sum(Goal.target), func.count())
        .where(Goal.team_id.in_(team_ids))
        .group_by(Goal.team_id, Goal.user_id.is_(None), Goal.metric, Goal.period,
                  Goal.period_start)).all()
    members = {(t, m, p, s): total for t, is_team, m, p, s, total, _n in rows if not is_team}
    months = {}
    for t, is_team, m, p, s, total, _n in rows:
        if is_team and GoalPeriod(p) == GoalPeriod.MONTH:
            quarter = Period.containing("quarter", s).start
            months[(t, m, quarter)] = months.get((t, m, quarter), Decimal(0)) + Decimal(total)
    checks = {}
    for goal in team_goals:
        if goal.metric in METRICS and METRICS[goal.metric].unit in LEVELS:
            checks[goal.id] = PartsCheck(None, None, goal.target)  # a level: nothing adds up
            continue
        member_sum = members.get((goal.team_id, goal.metric, goal.period, goal.period_start))
        month_sum = months.get((goal.team_id, goal.metric, goal.period_start)) \
            if goal.period == GoalPeriod.QUARTER else None
        checks[goal.id] = PartsCheck(
            Decimal(member_sum).quantize(Decimal("0.01")) if member_sum is not None else None,
            month_sum.quantize(Decimal("0.01")) if month_sum is not None else None, goal.target)
    return checks
