"""Worker jobs of routing and the profile."""

from crm.extensions import db
from crm.routing.fit import refresh_team


def rescore_team(team_id: int) -> None:
    """Every customer's fit against the team's profile as it is now: safe to run twice."""
    refresh_team(team_id)
    db.session.commit()
