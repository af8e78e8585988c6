"""Who may see and do what. Every area asks here; no view filters by team or owner by hand.

Roles:
- admin: everything, including accounts, teams and the system page.
- office: every customer and every team's data for office work; no account administration.
- manager: their own team and every team below it.
- rep: their own team's colleagues; their own work.
"""

from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from crm.accounts.models import Role, Team, User
from crm.extensions import db, login_manager

SEES_EVERY_TEAM = (Role.ADMIN, Role.OFFICE)


def team_subtree_ids(team: Team) -> Select:
    """The ids of a team and every team below it, as a subquery."""
    return select(Team.id).where(Team.path.startswith(team.path))


def visible_team_ids(user: User) -> Select | None:
    """Ids of the teams whose members and data the user may see; None means every team."""
    if user.role in SEES_EVERY_TEAM:
        return None
    if user.team is None:
        return select(Team.id).where(Team.id.is_(None))
    if user.role == Role.MANAGER:
        return team_subtree_ids(user.team)
    return select(Team.id).where(Team.id == user.team_id)


def teams_scope(user: User) -> Select:
    """Teams the user may see."""
    ids = visible_team_ids(user)
    query = select(Team)
    return query if ids is None else query.where(Team.id.in_(ids))


def users_scope(user: User) -> Select:
    """Colleagues the user may see (for assignment lists and reports)."""
    ids = visible_team_ids(user)
    query = select(User)
    if ids is None:
        return query
    return query.where(User.team_id.in_(ids) | (User.id == user.id))


def customers_scope(user: User) -> Select:
    """Customers the user may open: their own and the pool (reps); everything owned by
    their team tree and the pool (managers); everything (office, admin)."""
    from crm.customers.models import Customer

    query = select(Customer)
    if user.role in SEES_EVERY_TEAM:
        return query
    if user.role == Role.MANAGER and user.team is not None:
        owners = select(User.id).where(User.team_id.in_(team_subtree_ids(user.team)))
        return query.where(Customer.owner_id.is_(None) | Customer.owner_id.in_(owners))
    return query.where(Customer.owner_id.is_(None) | (Customer.owner_id == user.id))


def deals_scope(user: User) -> Select:
    """Deals the user may open: those they own or on customers they own (reps); the same
    for anyone in their team tree (managers); every deal (office, admin)."""
    from crm.customers.models import Customer
    from crm.pipeline.models import Deal

    query = select(Deal)
    if user.role in SEES_EVERY_TEAM:
        return query
    if user.role == Role.MANAGER and user.team is not None:
        owners = select(User.id).where(User.team_id.in_(team_subtree_ids(user.team)))
        return query.where(Deal.owner_id.in_(owners) | Deal.customer_id.in_(
            select(Customer.id).where(Customer.owner_id.in_(owners))))
    # A transferred customer's deals stay visible to whoever owns the customer now.
    return query.where((Deal.owner_id == user.id) | Deal.customer_id.in_(
        select(Customer.id).where(Customer.owner_id == user.id)))


def may_edit_deal(user: User, deal) -> bool:
    """Seeing a deal is not changing it: its owner or a manager above the owner, and only
    while they may still work the customer; office and admin always."""
    if user.role in SEES_EVERY_TEAM:
        return True
    if deal.owner_id != user.id and not manages(user, deal.owner):
        return False
    return may_edit_customer(user, deal.customer)


def may_review_deals(user: User, owner: User) -> bool:
    """Managers review the deals of reps in their team tree in the nightly review; admins
    anyone's."""
    return user.role == Role.ADMIN or manages(user, owner)


def customers_in_tab(user: User, tab: str) -> Select:
    """One list tab's customers, as narrow a query as the tab allows; always a subset of
    customers_scope (the wider OR of "mine or the pool" would read rows only to drop them)."""
    from crm.customers.models import Customer

    query = select(Customer)
    if tab == "pool":
        return query.where(Customer.owner_id.is_(None))
    if tab == "mine":
        return query.where(Customer.owner_id == user.id)
    if tab == "team":
        if user.role in SEES_EVERY_TEAM:
            return query.where(Customer.owner_id.is_not(None))
        if user.role == Role.MANAGER and user.team is not None:
            owners = select(User.id).where(User.team_id.in_(team_subtree_ids(user.team)))
            return query.where(Customer.owner_id.in_(owners))
        return query.where(Customer.owner_id == user.id)
    return customers_scope(user)


def may_see_contact_details(user: User, customer) -> bool:
    """Pool cards hide phone, WeChat, e-mail and address until someone claims them."""
    return customer.owner_id is not None or user.role in SEES_EVERY_TEAM


def may_hear_recordings(user: User, customer) -> bool:
    """A customer's voice is more sensitive than their phone number: those who see the
    customer, and on a pool card only office and admin."""
    return may_see_contact_details(user, customer) and can_see_customer(user, customer.id)


def may_claim(user: User) -> bool:
    return user.role in (Role.REP, Role.MANAGER)


def may_transfer(user: User) -> bool:
    """Managers move customers between reps of their teams; office and admin anywhere."""
    return user.role in (Role.MANAGER, Role.OFFICE, Role.ADMIN)


def may_edit_customer(user: User, customer) -> bool:
    """The owner, managers above the owner, office and admin; nobody edits a pool card
    but office and admin (claim it first)."""
    if user.role in SEES_EVERY_TEAM:
        return True
    if customer.owner_id is None:
        return False
    if customer.owner_id == user.id:
        return True
    return (user.role == Role.MANAGER and customer.owner is not None
            and manages(user, customer.owner))


def may_import_export(user: User) -> bool:
    return user.role in SEES_EVERY_TEAM


def assignable_users(user: User, roles=(Role.REP, Role.MANAGER),
                     exclude_id: int | None = None) -> Select:
    """Active colleagues of these roles that `user` may hand work to (owners, receivers of a
    transfer or handover, ride-along companions), by name."""
    query = users_scope(user).where(User.active.is_(True), User.role.in_(roles))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return query.order_by(User.name, User.id)


def can_see_customer(user: User, customer_id: int) -> bool:
    from crm.customers.models import Customer

    return db.session.scalar(customers_scope(user).where(Customer.id == customer_id)
                             .with_only_columns(Customer.id)) is not None


def manages(manager: User, other: User) -> bool:
    """Whether `manager` leads the team tree `other` belongs to."""
    if manager.role != Role.MANAGER or manager.team is None or other.team is None:
        return False
    return other.team.path.startswith(manager.team.path)


def can_administer_accounts(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def can_view_system(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def roles_required(*roles: Role):
    """Gate a view to roles; others get 403 (the page exists, they may not use it)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def get_visible_or_404(scope: Select, model, object_id: int):
    """Load one object through a scope, or 404 so that its existence is not confirmed."""
    obj = db.session.scalars(scope.where(model.id == object_id)).first()
    if obj is None:
        abort(404)
    return obj


def reviewed_people(user: User) -> Select:
    """Ids of the people whose recordings `user` reviews: everyone below a manager's team
    tree and in it, but not the manager themselves."""
    if user.role != Role.MANAGER or user.team is None:
        return select(User.id).where(User.id.is_(None))
    return select(User.id).where(User.team_id.in_(team_subtree_ids(user.team)),
                                 User.id != user.id)


def may_use_reviews(user: User) -> bool:
    """Reviews are coaching between a manager and their reps; admins may read them all.
    Office work has no part in them."""
    return user.role in (Role.REP, Role.MANAGER, Role.ADMIN)


def reviews_scope(user: User) -> Select:
    """Reviews the user may open: managers those of the people they lead (drafts too),
    anyone their own once finished, admins all."""
    from crm.reviews.models import Review, ReviewStatus

    query = select(Review)
    if user.role == Role.ADMIN:
        return query
    own = (Review.rep_id == user.id) & (Review.status == ReviewStatus.FINISHED)
    if user.role == Role.MANAGER:
        return query.where(own | Review.rep_id.in_(reviewed_people(user)))
    if user.role == Role.REP:
        return query.where(own)
    return query.where(Review.id.is_(None))


def may_see_trends_of(user: User, person: User) -> bool:
    return (person.id == user.id or user.role == Role.ADMIN
            or (user.role == Role.MANAGER and manages(user, person)))
