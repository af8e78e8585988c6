"""The team tree: each team stores its path so a subtree is one prefix match."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm.accounts.models import TEAM_DEFAULTS, TEAM_NAME_INDEX, Team, TeamDefaults, User
from crm.errors import DomainError
from crm.extensions import db

NAME_TAKEN = _l("%(parent)s already has a team named “%(name)s”. Choose another name.")
TOP_LEVEL_NAME_TAKEN = _l("There is already a top-level team named “%(name)s”. Choose another "
                          "name.")


def _name_taken(name: str, parent_name: str | None) -> DomainError:
    if parent_name is None:
        message = TOP_LEVEL_NAME_TAKEN % {"name": name}
    else:
        message = NAME_TAKEN % {"parent": parent_name, "name": name}
    return DomainError(message, field="name")


def check_name_free(name: str, parent: Team | None, team: Team | None = None) -> None:
    """Refuse a name a sibling under `parent` already has (without case); `team` is the one
    being renamed or moved, which may keep its own name."""
    query = select(Team.id).where(
        func.coalesce(Team.parent_id, 0) == (parent.id if parent else 0),
        func.lower(Team.name) == func.lower(name))
    if team is not None and team.id is not None:
        query = query.where(Team.id != team.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise _name_taken(name, parent.name if parent else None)


def _flush(name: str, parent: Team | None) -> None:
    """Flush, turning a clash the check could not see (another admin saving the same name
    at the same moment) into the same message. The caller rolls back, as for any refusal."""
    parent_name = parent.name if parent else None  # unreadable once the flush has failed
    try:
        db.session.flush()
    except IntegrityError as error:
        if TEAM_NAME_INDEX in str(error.orig):
            raise _name_taken(name, parent_name) from error
        raise


def create_team(name: str, parent: Team | None = None) -> Team:
    name = name.strip()
    check_name_free(name, parent)
    team = Team(name=name, parent=parent, path="")
    db.session.add(team)
    _flush(name, parent)
    team.path = f"{parent.path if parent else '/'}{team.id}/"
    db.session.flush()
    return team


def rename_team(team: Team, name: str) -> None:
    """Rename a team where it is; to rename and move at once, use move_team(…, name=…)."""
    name = name.strip()
    check_name_free(name, team.parent, team)
    team.name = name
    _flush(name, team.parent)


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


def move_team(team: Team, new_parent: Team | None, *, name: str | None = None) -> None:
    """Put the team under another parent, carrying its whole subtree along, and give it
    `name` if one is given: the name must be free under the parent it ends up in."""
    if new_parent is not None and new_parent.path.startswith(team.path):
        raise DomainError(_l("A team cannot move under itself or one of its own teams."),
                          field="parent_id")
    name = team.name if name is None else name.strip()
    check_name_free(name, new_parent, team)
    old_prefix = team.path
    new_prefix = f"{new_parent.path if new_parent else '/'}{team.id}/"
    if old_prefix == new_prefix:
        team.name = name
        _flush(name, new_parent)
        return
    db.session.flush()
    db.session.execute(
        update(Team)
        .where(Team.path.startswith(old_prefix))
        .values(path=new_prefix + func.substr(Team.path, len(old_prefix) + 1))
        .execution_options(synchronize_session=False)
    )
    # Name and parent change in one UPDATE: the new name may be taken where the team was.
    team.parent, team.name = new_parent, name
    _flush(name, new_parent)
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
