"""The team tree: each team stores its path so a subtree is one prefix match."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from crm.accounts.models import TEAM_DEFAULTS, Team, TeamDefaults, User
from crm.errors import DomainError
from crm.extensions import db


def create_team(name: str, parent: Team | None = None) -> Team:
    team = Team(name=name.strip(), parent=parent, path="")
    db.session.add(team)
    db.session.flush()
    team.path = f"{parent.path if parent else '/'}{team.id}/"
    db.session.flush()
    return team


def rename_team(team: Team, name: str) -> None:
    team.name = name.strip()


def rules_for(user: User) -> Team | TeamDefaults:
    """The rules that apply to a user: their team's, or TEAM_DEFAULTS for someone without
    one. Either answers `.protection_days`, `.holding_limit`, `.daily_review_target`…"""
    team = db.session.get(Team, user.team_id) if user.team_id else None
    return team or TEAM_DEFAULTS


def set_pool_rules(team: Team, *, protection_days: int, holding_limit: int,
                   expiry_warning_days: int) -> None:
    team.protection_days = protection_days
    team.holding_limit = holding_limit
    team.expiry_warning_days = expiry_warning_days


def set_review_target(team: Team, daily_review_target: int | None) -> None:
    """How many recordings the team's managers aim to review a day; None keeps it."""
    if daily_review_target is not None:
        team.daily_review_target = daily_review_target


def move_team(team: Team, new_parent: Team | None) -> None:
    """Put the team under another parent, carrying its whole subtree along."""
    if new_parent is not None and new_parent.path.startswith(team.path):
        raise DomainError(_l("A team cannot move under itself or one of its own teams."),
                          field="parent_id")
    old_prefix = team.path
    new_prefix = f"{new_parent.path if new_parent else '/'}{team.id}/"
    if old_prefix == new_prefix:
        return
    db.session.flush()
    db.session.execute(
        update(Team)
        .where(Team.path.startswith(old_prefix))
        .values(path=new_prefix + func.substr(Team.path, len(old_prefix) + 1))
        .execution_options(synchronize_session=False)
    )
    team.parent = new_parent
    db.session.flush()
    db.session.expire_all()


def delete_team(team: Team) -> None:
    """Only an empty team goes: its members and sub-teams must be moved first."""
    has_members = db.session.scalar(select(func.count()).where(User.team_id == team.id))
    has_children = db.session.scalar(select(func.count()).where(Team.parent_id == team.id))
    if has_members or has_children:
        raise DomainError(_l("Move this team's members and sub-teams away before deleting it."))
    db.session.delete(team)


def team_tree() -> list[Team]:
    """Every team in tree order: parents before children, siblings by name; one query."""
    teams = list(db.session.scalars(select(Team)))
    by_id = {team.id: team for team in teams}

    def sort_key(team: Team):
        ancestry = [by_id.get(int(part)) for part in team.path.strip("/").split("/") if part]
        return [(a.name, a.id) for a in ancestry if a is not None]

    return sorted(teams, key=sort_key)
