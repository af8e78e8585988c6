"""Who may see and do what: the only place that decides. Views, templates, navigation, jobs
and domain functions ask the scopes, predicates and loaders here; none compares roles.

Roles:
- admin: everything, including accounts, teams and the system page.
- office: every customer and every team's data for office work; no account administration.
- manager: their own team and every team below it.
- rep: their own team's colleagues; their own work.

Scopes (`*_scope`) are SELECTs of what a user may open; predicates (`may_*`) answer for one
object already in scope, without a query where they can; loaders (`*_or_404`) load through a
scope and answer 404 for what the user may not see (its existence is not confirmed) and 403
for what they may see but not change.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select, union
from sqlalchemy.orm import joinedload, selectinload

from crm.accounts.models import Role, Team, User
from crm.extensions import db, login_manager

SEES_EVERY_TEAM = (Role.ADMIN, Role.OFFICE)
HOLDS_CUSTOMERS = (Role.REP, Role.MANAGER)


# What a role is for -----------------------------------------------------------------------

def sees_every_team(user: User) -> bool:
    """Office and admin work across every team."""
    return user.role in SEES_EVERY_TEAM


def leads_teams(user: User) -> bool:
    """Managers lead their team and every team below it."""
    return user.role == Role.MANAGER


def may_hold_customers(user: User) -> bool:
    """Reps and managers own customers, claim from the pool and log their own follow-ups."""
    return user.role in HOLDS_CUSTOMERS


def looks_across_people(user: User) -> bool:
    """Everyone but a rep looks at other people's work: filters by person or team, walks
    each rep's review sheet, chooses who owns a new customer."""
    return user.role != Role.REP


def may_administer(user: User) -> bool:
    """Accounts, teams, the rubric and the system page."""
    return user.is_authenticated and user.role == Role.ADMIN


def may_claim(user: User) -> bool:
    return may_hold_customers(user)


def may_transfer(user: User) -> bool:
    """Managers move customers between reps of their teams; office and admin anywhere."""
    return leads_teams(user) or sees_every_team(user)


def may_import_export(user: User) -> bool:
    return sees_every_team(user)


def may_choose_owner(user: User) -> bool:
    """Reps always own what they add; everyone else picks an owner or the pool."""
    return looks_across_people(user)


def may_receive_customers(user: User) -> bool:
    """Who a transfer, handover or import may give customers to."""
    return user.active and may_hold_customers(user)


# Teams and people -----------------------------------------------------------------------

def team_subtree_ids(team: Team) -> Select:
    """The ids of a team and every team below it, as a subquery."""
    return select(Team.id).where(Team.path.startswith(team.path))


def visible_team_ids(user: User) -> Select | None:
    """Ids of the teams whose members and data the user may see; None means every team."""
    if sees_every_team(user):
        return None
    if user.team is None:
        return select(Team.id).where(Team.id.is_(None))
    if leads_teams(user):
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


def assignable_users(user: User, roles=HOLDS_CUSTOMERS, exclude_id: int | None = None) -> Select:
    """Active colleagues of these roles that `user` may hand work to (owners, receivers of a
    transfer or handover, ride-along companions), by name."""
    query = users_scope(user).where(User.active.is_(True), User.role.in_(roles))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return query.order_by(User.name, User.id)


def import_owners(user: User) -> Select:
    """Who an importer may give a file's customers to: active reps they see."""
    return assignable_users(user, roles=(Role.REP,))


def may_own_imports(owner: User) -> bool:
    return owner.active and owner.role == Role.REP


def people_at_work(user: User) -> Select:
    """Reps and managers whose work `user` looks at: pipelines, sheets, filters."""
    return users_scope(user).where(User.role.in_(HOLDS_CUSTOMERS))


def reps_only(query: Select) -> Select:
    """Narrow a people query to reps (the review sheet walks reps)."""
    return query.where(User.role == Role.REP)


def manages(manager: User, other: User) -> bool:
    """Whether `manager` leads the team tree `other` belongs to."""
    if not leads_teams(manager) or manager.team is None or other.team is None:
        return False
    return other.team.path.startswith(manager.team.path)


def _owners_led_by(user: User) -> Select:
    return select(User.id).where(User.team_id.in_(team_subtree_ids(user.team)))


# Customers ------------------------------------------------------------------------------

def customers_scope(user: User) -> Select:
    """Customers the user may open: their own and the pool (reps); everything owned by
    their team tree and the pool (managers); everything (office, admin)."""
    from crm.customers.models import Customer

    query = select(Customer)
    if sees_every_team(user):
        return query
    if leads_teams(user) and user.team is not None:
        return query.where(Customer.owner_id.is_(None)
                           | Customer.owner_id.in_(_owners_led_by(user)))
    return query.where(Customer.owner_id.is_(None) | (Customer.owner_id == user.id))


def visible_customer_ids(user: User) -> Select:
    from crm.customers.models import Customer

    return customers_scope(user).with_only_columns(Customer.id)


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
        if sees_every_team(user):
            return query.where(Customer.owner_id.is_not(None))
        if leads_teams(user) and user.team is not None:
            return query.where(Customer.owner_id.in_(_owners_led_by(user)))
        return query.where(Customer.owner_id == user.id)
    return customers_scope(user)


def list_tabs(user: User) -> list[str]:
    """The customer list's tabs, first one the default."""
    if sees_every_team(user):
        return ["all", "pool"]
    if leads_teams(user):
        return ["team", "mine", "pool"]  # a manager works through the team's customers
    return ["mine", "pool"]


def can_see_customer(user: User, customer_id: int) -> bool:
    from crm.customers.models import Customer

    return db.session.scalar(customers_scope(user).where(Customer.id == customer_id)
                             .with_only_columns(Customer.id)) is not None


def may_see_contact_details(user: User, customer) -> bool:
    """Pool cards hide phone, WeChat, e-mail and address until someone claims them."""
    return customer.owner_id is not None or sees_every_team(user)


def may_edit_customer(user: User, customer) -> bool:
    """The owner, managers above the owner, office and admin; nobody edits a pool card
    but office and admin (claim it first)."""
    if sees_every_team(user):
        return True
    if customer.owner_id is None:
        return False
    if customer.owner_id == user.id:
        return True
    return leads_teams(user) and customer.owner is not None and manages(user, customer.owner)


def may_release(user: User, customer) -> bool:
    """Whoever may work on an owned customer may give it back to the pool."""
    return customer.owner_id is not None and may_edit_customer(user, customer)


def customer_or_404(user: User, customer_id: int, *, to_edit: bool = False):
    """The customer as its card shows it, if the user may see it (and work on it)."""
    from crm.customers.models import Customer

    scope = customers_scope(user).options(
        joinedload(Customer.owner), joinedload(Customer.referrer),
        selectinload(Customer.contacts), selectinload(Customer.tags))
    customer = get_visible_or_404(scope, Customer, customer_id)
    if to_edit and not may_edit_customer(user, customer):
        abort(403)
    return customer


def claimable_or_404(user: User, customer_id: int) -> None:
    """Claiming needs a role that holds customers (403) and a customer that exists (404);
    whether it is still in the pool is the claim's own race to decide."""
    from crm.customers.models import Customer

    if not may_claim(user):
        abort(403)
    if db.session.get(Customer, customer_id) is None:
        abort(404)


# Follow-ups and recordings --------------------------------------------------------------

def follow_ups_scope(user: User) -> Select:
    """Follow-ups on customers the user may see."""
    from crm.followups.models import FollowUp

    query = select(FollowUp)
    if sees_every_team(user):
        return query
    return query.where(FollowUp.customer_id.in_(visible_customer_ids(user)))


def follow_up_or_404(user: User, follow_up_id, *, to_edit: bool = False):
    """A follow-up on a customer the user may see; to add to it they must work the customer."""
    from crm.followups.models import FollowUp

    if not isinstance(follow_up_id, int):
        abort(404)
    follow_up = get_visible_or_404(
        follow_ups_scope(user).options(joinedload(FollowUp.customer)), FollowUp,
        follow_up_id)
    if to_edit and not may_edit_customer(user, follow_up.customer):
        abort(403)
    return follow_up


def may_add_recording(user: User, follow_up_id) -> bool:
    """Asked before a large upload body is read: nobody else makes the server write one."""
    from crm.followups.models import FollowUp

    if not isinstance(follow_up_id, int):
        return False
    follow_up = db.session.scalars(
        follow_ups_scope(user).where(FollowUp.id == follow_up_id)).first()
    return follow_up is not None and may_edit_customer(user, follow_up.customer)


def ride_along_or_404(user: User, follow_up_id: int):
    """A follow-up the user rode along on (their own notes go on it)."""
    from crm.followups.models import Companion, FollowUp

    query = select(FollowUp).where(FollowUp.id.in_(
        select(Companion.follow_up_id).where(Companion.user_id == user.id)))
    return get_visible_or_404(query, FollowUp, follow_up_id)


def may_hear_recordings(user: User, customer) -> bool:
    """A customer's voice is more sensitive than their phone number: on a customer the user
    already sees, everyone who may see its contact details (on a pool card office and admin
    only). recordings_scope says the same in SQL."""
    return may_see_contact_details(user, customer)


def recordings_scope(user: User) -> Select:
    """Recordings the user may hear: on customers they see, and in the pool only office's and
    admin's."""
    from crm.customers.models import Customer
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    customers = visible_customer_ids(user)
    if not sees_every_team(user):
        customers = customers.where(Customer.owner_id.is_not(None))
    return select(Recording).where(Recording.follow_up_id.in_(
        select(FollowUp.id).where(FollowUp.customer_id.in_(customers))))


def recording_or_404(user: User, recording_id: int):
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    scope = recordings_scope(user).options(
        joinedload(Recording.follow_up).joinedload(FollowUp.customer))
    return get_visible_or_404(scope, Recording, recording_id)


# Deals ----------------------------------------------------------------------------------

def deals_scope(user: User) -> Select:
    """Deals the user may open: those they own or on customers they own (reps); the same
    for anyone in their team tree (managers); every deal (office, admin)."""
    from crm.customers.models import Customer
    from crm.pipeline.models import Deal

    query = select(Deal)
    if sees_every_team(user):
        return query
    if leads_teams(user) and user.team is not None:
        owners = _owners_led_by(user)
        owned, on_customers = Deal.owner_id.in_(owners), Customer.owner_id.in_(owners)
    else:
        # A transferred customer's deals stay visible to whoever owns the customer now.
        owned, on_customers = Deal.owner_id == user.id, Customer.owner_id == user.id
    # A union of two index lookups: an OR of the two would make PostgreSQL read every deal.
    return query.where(Deal.id.in_(union(
        select(Deal.id).where(owned),
        select(Deal.id).where(Deal.customer_id.in_(select(Customer.id).where(on_customers))))))


def deal_events_scope(user: User) -> Select:
    """Stage and grade changes of the deals the user may open."""
    from crm.pipeline.models import Deal, DealEvent

    query = select(DealEvent)
    if sees_every_team(user):
        return query
    return query.where(DealEvent.deal_id.in_(deals_scope(user).with_only_columns(Deal.id)))


def may_edit_deal(user: User, deal) -> bool:
    """Seeing a deal is not changing it: its owner or a manager above the owner, and only
    while they may still work the customer; office and admin always."""
    if sees_every_team(user):
        return True
    if deal.owner_id != user.id and not manages(user, deal.owner):
        return False
    return may_edit_customer(user, deal.customer)


def may_review_deals(user: User, owner: User) -> bool:
    """Managers review the deals of reps in their team tree in the nightly review; admins
    anyone's."""
    return may_administer(user) or manages(user, owner)


def deal_or_404(user: User, deal_id: int, *, to_edit: bool = False, to_review: bool = False):
    from crm.pipeline.models import Deal

    scope = deals_scope(user).options(joinedload(Deal.customer), joinedload(Deal.owner))
    deal = get_visible_or_404(scope, Deal, deal_id)
    if to_edit and not may_edit_deal(user, deal):
        abort(403)
    if to_review and not may_review_deals(user, deal.owner):
        abort(403)
    return deal


def sheet_rep_or_404(user: User, rep_id: int | None) -> User | None:
    """Whose review sheet the user asked for: a rep only ever their own; others anyone in
    their teams who works customers. None when nobody was named."""
    if not looks_across_people(user):
        if rep_id is not None and rep_id != user.id:
            abort(404)
        return user
    if rep_id is None:
        return None
    return get_visible_or_404(people_at_work(user), User, rep_id)


def team_or_404(user: User, team_id: int) -> Team:
    return get_visible_or_404(teams_scope(user), Team, team_id)


# Reviews --------------------------------------------------------------------------------

def may_use_reviews(user: User) -> bool:
    """Reviews are coaching between a manager and their reps; admins may read them all.
    Office work has no part in them."""
    return user.role in (Role.REP, Role.MANAGER, Role.ADMIN)


def may_review_recordings(user: User) -> bool:
    """Managers review their people's recordings (and have the review queue)."""
    return leads_teams(user)


def reads_every_review(user: User) -> bool:
    return may_administer(user)


def may_see_team_reviews(user: User) -> bool:
    """The team table: managers for their tree, admins for everyone."""
    return leads_teams(user) or may_administer(user)


def led_people(user: User) -> Select:
    """Ids of the people a manager leads: everyone in their team tree but themselves
    (nobody, for anyone else)."""
    if not leads_teams(user) or user.team is None:
        return select(User.id).where(User.id.is_(None))
    return select(User.id).where(User.team_id.in_(team_subtree_ids(user.team)),
                                 User.id != user.id)


def reviewed_people(user: User) -> Select:
    """Ids of the people whose recordings `user` reviews: those they lead."""
    return led_people(user)


def team_review_people(user: User) -> Select:
    """Active reps and managers in the user's team table."""
    query = select(User).where(User.active.is_(True), User.role.in_(HOLDS_CUSTOMERS))
    if reads_every_review(user):
        return query
    return query.where(User.id.in_(reviewed_people(user)))


def reviews_scope(user: User) -> Select:
    """Reviews the user may open: managers those of the people they lead (drafts too),
    anyone their own once finished, admins all."""
    from crm.reviews.models import Review, ReviewStatus

    query = select(Review)
    if reads_every_review(user):
        return query
    own = (Review.rep_id == user.id) & (Review.status == ReviewStatus.FINISHED)
    if leads_teams(user):
        return query.where(own | Review.rep_id.in_(reviewed_people(user)))
    if may_use_reviews(user):
        return query.where(own)
    return query.where(Review.id.is_(None))


def review_or_404(user: User, review_id: int, *, as_reviewer: bool = False,
                  as_rep: bool = False):
    """A review the user may open; writing it is the reviewer's, answering it the rep's."""
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording
    from crm.reviews.models import Review

    query = reviews_scope(user).options(
        joinedload(Review.recording).joinedload(Recording.follow_up)
        .joinedload(FollowUp.customer),
        joinedload(Review.rep), joinedload(Review.reviewer),
        joinedload(Review.rubric_version), selectinload(Review.comments),
        selectinload(Review.scores), selectinload(Review.actions))
    review = get_visible_or_404(query, Review, review_id)
    if as_reviewer and review.reviewer_id != user.id:
        abort(403)
    if as_rep and review.rep_id != user.id:
        abort(403)
    return review


def recording_to_review_or_404(user: User, recording_id: int):
    """A recording of someone the user reviews."""
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    query = select(Recording).where(Recording.follow_up_id.in_(
        select(FollowUp.id).where(FollowUp.author_id.in_(reviewed_people(user)))))
    return get_visible_or_404(query, Recording, recording_id)


def may_see_trends_of(user: User, person: User) -> bool:
    return person.id == user.id or may_administer(user) or manages(user, person)


def trends_person_or_404(user: User, person_id: int) -> User:
    person = db.session.get(User, person_id)
    if person is None or not may_see_trends_of(user, person):
        abort(404)
    return person


def may_edit_rubric(user: User) -> bool:
    return may_administer(user)


# Gates and loading ----------------------------------------------------------------------

def requires(predicate: Callable[[User], bool]):
    """Gate a view on a predicate of the signed-in user; others get 403 (the page exists,
    they may not use it), strangers the sign-in page."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not predicate(current_user):
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
