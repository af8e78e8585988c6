"""The team leaderboard: each member's figure for the team's goals over the period, ranked;
a team may hide amounts (members then see shares of their own target, not money)."""

from dataclasses import dataclass
from decimal import Decimal

from crm.goals.models import Goal
from crm.metrics.registry import METRICS, Figures


@dataclass
class Place:
    rank: int
    person: object
    value: object
    share: float | None  # of the member's own goal, when they have one


def leaderboard(team_goals: list[Goal], member_goals: list[Goal], members: list,
                figures: Figures) -> dict[str, list[Place]]:
    targets = {(g.user_id, g.metric): g.target for g in member_goals}
    boards = {}
    for goal in team_goals:
        rows = []
        for person in members:
            value = figures.person(goal.metric, person.id) or 0
            target = targets.get((person.id, goal.metric))
            share = float(Decimal(str(value)) / target) if target else None
            rows.append((value, share, person))
        rows.sort(key=lambda r: (-float(r[0]), r[2].name))
        boards[goal.metric] = [Place(n + 1, person, value, share)
                               for n, (value, share, person) in enumerate(rows)]
    return boards


def is_amount(metric: str) -> bool:
    return METRICS[metric].unit == "amount" if metric in METRICS else False
