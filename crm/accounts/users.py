"""Account operations shared by the admin pages, the CLI and the demo seed."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from crm.accounts.models import Role, Team, User
from crm.accounts.passwords import check_password_policy, temporary_password
from crm.accounts.sessions import end_all_sessions
from crm.clock import utcnow
from crm.errors import DomainError, StaleEdit
from crm.extensions import db

ROLES_NEEDING_TEAM = (Role.REP, Role.MANAGER)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str, *, email: str | None = None, name: str | None = None,
                  current_hash: str | None = None) -> str:
    check_password_policy(password, email=email, name=name, current_hash=current_hash)
    return generate_password_hash(password)


def _check_team_rule(role: Role, team: Team | None) -> None:
    if role in ROLES_NEEDING_TEAM and team is None:
        raise DomainError(_l("Reps and managers belong to a team."), field="team_id")


def _check_email_free(email: str, user_id: int | None = None) -> None:
    query = select(func.count()).select_from(User).where(User.email == email)
    if user_id is not None:
        query = query.where(User.id != user_id)
    if db.session.scalar(query):
        raise DomainError(_l("Another account already uses this e-mail."), field="email")


def _check_another_admin_remains(user_id: int) -> None:
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN, User.active.is_(True), User.id != user_id))
    if not others:
        raise DomainError(_l("This is the last active administrator; make someone else an "
                             "administrator first."), field="role")


def create_user(*, email: str, name: str, role: Role, team: Team | None = None,
                password: str | None = None, password_hash: str | None = None,
                must_change_password: bool = False, **profile) -> User:
    """Add an account; give either a password or an existing hash (the demo seed reuses one)."""
    email = normalise_email(email)
    _check_team_rule(role, team)
    _check_email_free(email)
    user = User(email=email, name=name.strip(), role=role, team=team,
                password_hash=password_hash or hash_password(password or "", email=email,
                                                                  name=name),
                must_change_password=must_change_password, password_changed_at=utcnow(),
                **profile)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, expected_version: int, *, email: str, name: str, role: Role,
                team: Team | None, by: User | None = None, **profile) -> User:
    """Save an admin's edit; refuse it if the account changed since the form was opened.
    A change of role or team is an audit event (who, whom, from, to)."""
    if user.version != expected_version:
        raise StaleEdit()
    email = normalise_email(email)
    _check_team_rule(role, team)
    _check_email_free(email, user.id)
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _check_another_admin_remains(user.id)
    _audit_role_and_team(user, role, team, by)
    user.email, user.name, user.role, user.team = email, name.strip(), role, team
    for key, value in profile.items():
        setattr(user, key, value)
    db.session.flush()
    return user


def _audit_role_and_team(user: User, role: Role, team: Team | None, by: User | None) -> None:
    from crm.audit.log import record
    from crm.audit.models import AuditAction

    actor = by.id if by else None
    if role != user.role:
        record(AuditAction.ROLE_CHANGE, actor, None, user=user.id,
               **{"from": user.role.value, "to": role.value})
    new_team = team.id if team else None
    if new_team != user.team_id:
        record(AuditAction.TEAM_CHANGE, actor, None, user=user.id,
               **{"from": user.team_id, "to": new_team})


def set_password(user: User, password: str, *, must_change: bool = False) -> None:
    """Change the password and sign the user out everywhere."""
    user.password_hash = hash_password(password, email=user.email, name=user.name,
                                       current_hash=user.password_hash)
    user.must_change_password = must_change
    user.password_changed_at = utcnow()
    end_all_sessions(user.id)


def reset_password(user: User) -> str:
    """Give the user a temporary password to change at next sign-in; returns it once."""
    temporary = temporary_password()
    set_password(user, temporary, must_change=True)
    user.failed_logins = 0
    user.locked_until = None
    return temporary


def deactivate_user(user: User, by: User) -> None:
    """Deactivate, never delete: history keeps its author. Ends every session at once."""
    if user.id == by.id:
        raise DomainError(_l("You cannot deactivate your own account."))
    if not user.active:
        return
    user.active = False
    user.deactivated_at = utcnow()
    end_all_sessions(user.id)


def reactivate_user(user: User) -> None:
    user.active = True
    user.deactivated_at = None
