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
from sqlalchemy import Select, select, true, union
from sqlalchemy.orm import joinedload, selectinload

from crm.accounts.models import Role, Team, User
from crm.extensions import db, login_manager
from crm.sql import among

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

    return select(Customer).where(sees_customer(user))


def sees_customer(user: User):
    """customers_scope's rule as a condition on a customer row, for a statement that names
    a few customers (or joins them): testing each row beats an IN over every visible id,
    which SQLite builds in full."""
    from crm.customers.models import Customer

    if sees_every_team(user):
        return true()
    if leads_teams(user) and user.team is not None:
        return Customer.owner_id.is_(None) | Customer.owner_id.in_(_owners_led_by(user))
    return Customer.owner_id.is_(None) | (Customer.owner_id == user.id)


def visible_customer_ids(user: User) -> Select:
    from crm.customers.models import Customer

    return customers_scope(user).with_only_columns(Customer.id)


def sees_customer_of(user: User, customer_id, *, owned_only: bool = False):
    """The customer a row names (`customer_id`, a column) is one the user may see: tested on
    that customer by its primary key, so a card's few rows never wait for SQLite to list
    every visible customer first (as an IN over visible_customer_ids would)."""
    from crm.customers.models import Customer

    query = select(Customer.id).where(Customer.id == customer_id, sees_customer(user))
    if owned_only:
        query = query.where(Customer.owner_id.is_not(None))
    return query.exists()


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
    return query.where(sees_customer_of(user, FollowUp.customer_id))


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
    only), while the customer's consent stands. recordings_scope says the same in SQL."""
    return may_see_contact_details(user, customer) and consent_stands(customer)


def recordings_scope(user: User) -> Select:
    """Recordings the user may hear: on customers they see, and in the pool only office's and
    admin's."""
    from crm.customers.models import Customer
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    customers = visible_customer_ids(user)
    if not sees_every_team(user):
        customers = customers.where(Customer.owner_id.is_not(None))
    return _with_consent(select(Recording).where(Recording.follow_up_id.in_(
        select(FollowUp.id).where(FollowUp.customer_id.in_(customers)))))


def recording_or_404(user: User, recording_id: int):
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    scope = recordings_scope(user).options(
        joinedload(Recording.follow_up).joinedload(FollowUp.customer))
    return get_visible_or_404(scope, Recording, recording_id)


# Deals ----------------------------------------------------------------------------------

def _deal_rule(user: User):
    """Who may open a deal, as two conditions: on the deal's owner and on its customer's
    owner. Reps: their own, or on customers they own; managers: the same for anyone in
    their team tree. None for office and admin, who see every deal."""
    from crm.customers.models import Customer
    from crm.pipeline.models import Deal

    if sees_every_team(user):
        return None
    if leads_teams(user) and user.team is not None:
        owners = _owners_led_by(user)
        return Deal.owner_id.in_(owners), Customer.owner_id.in_(owners)
    # A transferred customer's deals stay visible to whoever owns the customer now.
    return Deal.owner_id == user.id, Customer.owner_id == user.id


def deals_scope(user: User) -> Select:
    """Deals the user may open (`_deal_rule`), for lists over many customers."""
    from crm.customers.models import Customer
    from crm.pipeline.models import Deal

    rule = _deal_rule(user)
    if rule is None:
        return select(Deal)
    owned, on_customers = rule
    # A union of two index lookups: an OR of the two would make PostgreSQL read every deal.
    return select(Deal).where(among(Deal.id, union(
        select(Deal.id).where(owned),
        select(Deal.id).where(Deal.customer_id.in_(select(Customer.id).where(on_customers))))))


def sees_deal(user: User):
    """`_deal_rule` as a condition on a deal row, for a statement that names one customer's
    few deals: each is tested by its keys instead of listing every visible deal first."""
    from crm.customers.models import Customer
    from crm.pipeline.models import Deal

    rule = _deal_rule(user)
    if rule is None:
        return true()
    owned, on_customers = rule
    return owned | select(Customer.id).where(Customer.id == Deal.customer_id,
                                             on_customers).exists()


def deal_events_scope(user: User) -> Select:
    """Stage and grade changes of the deals the user may open (a card's timeline: each
    event's deal is tested by its key)."""
    from crm.pipeline.models import Deal, DealEvent

    query = select(DealEvent)
    if sees_every_team(user):
        return query
    return query.where(select(Deal.id).where(Deal.id == DealEvent.deal_id,
                                             sees_deal(user)).exists())


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
    if as_reviewer and not consent_stands(review.recording.follow_up.customer):
        abort(403)
    if as_rep and review.rep_id != user.id:
        abort(403)
    return review


def recording_to_review_or_404(user: User, recording_id: int):
    """A recording of someone the user reviews."""
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    query = _with_consent(select(Recording).where(Recording.follow_up_id.in_(
        select(FollowUp.id).where(FollowUp.author_id.in_(reviewed_people(user))))))
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


# --- routing and the ideal customer profile (issue 19) ---

def may_manage_routing(user: User) -> bool:
    """Managers set their teams' routing rules and profile, preview and rebalance; admins
    anywhere."""
    return leads_teams(user) or may_administer(user)


def routing_teams(user: User) -> Select:
    """Teams whose routing the user manages: a manager's tree, every team for an admin."""
    if may_administer(user):
        return select(Team)
    if leads_teams(user) and user.team is not None:
        return select(Team).where(Team.id.in_(team_subtree_ids(user.team)))
    return select(Team).where(Team.id.is_(None))


def routing_team_or_404(user: User, team_id: int) -> Team:
    if not may_manage_routing(user):
        abort(403)
    return get_visible_or_404(routing_teams(user), Team, team_id)


def may_route_new_customers(user: User) -> bool:
    """Office and admin register and import customers and may send them through a team's
    rules."""
    return sees_every_team(user)


def route_targets(user: User) -> Select:
    """Teams whose rules a registration or import by `user` may use."""
    if may_route_new_customers(user):
        return select(Team).order_by(Team.path)
    return select(Team).where(Team.id.is_(None))


def routing_people(team: Team) -> Select:
    """Who routing may give a team's leads to: the active reps of the team and the teams
    below it (away and full reps are passed over by routing itself, which says why)."""
    return select(User).where(User.active.is_(True), User.role == Role.REP,
                              User.team_id.in_(team_subtree_ids(team))).order_by(User.id)


def routing_managers(team: Team) -> Select:
    """Ids of the active managers nearest above (or in) the team: they hear of leads
    nobody could take."""
    ancestor_ids = [int(part) for part in team.path.strip("/").split("/") if part]
    depth = {team_id: index for index, team_id in enumerate(ancestor_ids)}
    managers = list(db.session.execute(
        select(User.id, User.team_id).where(User.active.is_(True), User.role == Role.MANAGER,
                                            User.team_id.in_(ancestor_ids))).all())
    if not managers:
        return select(User.id).where(User.id.is_(None))
    nearest = max(depth[team_id] for _id, team_id in managers)
    ids = [user_id for user_id, team_id in managers if depth[team_id] == nearest]
    return select(User.id).where(User.id.in_(ids))


def profile_team_id(user: User) -> int | None:
    """Whose ideal customer profile a user's fit scores use: their team's, or the nearest
    team above with one (office and admin without a team: none)."""
    from crm.routing.models import ProfileCriterion

    if user.team is None:
        return None
    ancestor_ids = [int(part) for part in user.team.path.strip("/").split("/") if part]
    with_profile = set(db.session.scalars(
        select(ProfileCriterion.team_id).where(ProfileCriterion.team_id.in_(ancestor_ids))
        .distinct()))
    return next((team_id for team_id in reversed(ancestor_ids) if team_id in with_profile),
                None)


# --- goals, dashboard and reports (issue 12) ---

def dashboard_people(user: User) -> Select:
    """Whose numbers the user reads: a rep their own, a manager their team tree's people,
    office and admin everyone who works customers."""
    if not looks_across_people(user):
        return select(User).where(User.id == user.id)
    return people_at_work(user)


def dashboard_teams(user: User) -> Select:
    """Teams whose dashboard the user may pick (none for a rep: they read their own)."""
    if not looks_across_people(user):
        return select(Team).where(Team.id.is_(None))
    return teams_scope(user)


def may_use_reports(user: User) -> bool:
    """Team reports are for managers (their tree), office and admin."""
    return leads_teams(user) or sees_every_team(user)


def report_runs_scope(user: User) -> Select:
    from crm.reports.models import ReportRun

    query = select(ReportRun)
    if not may_use_reports(user):
        return query.where(ReportRun.id.is_(None))
    ids = visible_team_ids(user)
    return query if ids is None else query.where(ReportRun.team_id.in_(ids))


def report_run_or_404(user: User, run_id: int):
    from crm.reports.models import ReportRun

    return get_visible_or_404(report_runs_scope(user).options(joinedload(ReportRun.team)),
                              ReportRun, run_id)


def report_team_or_404(user: User, team_id: int) -> Team:
    if not may_use_reports(user):
        abort(403)
    return team_or_404(user, team_id)


def report_recipients(team: Team) -> Select:
    """Ids of the active managers who lead the team (its own or one above it)."""
    from sqlalchemy import func

    leading = select(Team.id).where(
        func.substr(team.path, 1, func.length(Team.path)) == Team.path)
    return select(User.id).where(User.role == Role.MANAGER, User.active.is_(True),
                                 User.team_id.in_(leading))


def may_set_goals(user: User) -> bool:
    """Managers set and split their teams' goals; admins any team's."""
    return leads_teams(user) or may_administer(user)


def goal_teams(user: User) -> Select:
    """Teams whose goals the user may set."""
    if may_administer(user):
        return select(Team)
    if leads_teams(user) and user.team is not None:
        return select(Team).where(Team.id.in_(team_subtree_ids(user.team)))
    return select(Team).where(Team.id.is_(None))


def goals_scope(user: User) -> Select:
    """Goals the user may read: a rep their team's and their own; others their teams'."""
    from crm.goals.models import Goal

    query = select(Goal)
    if not looks_across_people(user):
        return query.where(((Goal.team_id == user.team_id) & Goal.user_id.is_(None))
                           | (Goal.user_id == user.id))
    ids = visible_team_ids(user)
    return query if ids is None else query.where(Goal.team_id.in_(ids))


def may_edit_goal(user: User, goal) -> bool:
    """A manager over the goal's team or an admin; a rep their own goal while unlocked."""
    if may_administer(user):
        return True
    if leads_teams(user) and user.team is not None and goal.team is not None:
        return goal.team.path.startswith(user.team.path)
    return goal.user_id == user.id and not goal.locked


def goal_or_404(user: User, goal_id: int, *, to_edit: bool = False, to_split: bool = False):
    from crm.goals.models import Goal

    goal = get_visible_or_404(goals_scope(user).options(joinedload(Goal.team),
                                                        joinedload(Goal.user)), Goal, goal_id)
    if (to_edit or to_split) and not may_edit_goal(user, goal):
        abort(403)
    if to_split and not may_set_goals(user):
        abort(403)
    return goal


def goal_team_or_404(user: User, team_id: int) -> Team:
    if not may_set_goals(user):
        abort(403)
    return get_visible_or_404(goal_teams(user), Team, team_id)


# --- offline logging and resumable uploads (issue 13) ---

def recording_upload_or_404(user: User, upload_id: str):
    """A chunked upload in flight: only the person who started it continues it, and only
    while they may still add to the follow-up (anyone else gets 404)."""
    from crm.recordings.models import RecordingUpload

    upload = db.session.scalars(select(RecordingUpload).where(
        RecordingUpload.id == str(upload_id)[:32], RecordingUpload.user_id == user.id)).first()
    if upload is None or not may_add_recording(user, upload.follow_up_id):
        abort(404)
    return upload


def own_check_in_or_404(user: User, check_in_id: int):
    """A check-in is checked out by the person who made it."""
    from crm.checkins.models import CheckIn

    entry = db.session.get(CheckIn, check_in_id)
    if entry is None or entry.user_id != user.id:
        abort(404)
    return entry


def check_in_person_or_404(user: User, person_id: int) -> User:
    """Whose day of check-ins the user may see: their own, or of people they lead (admins
    any). Location data is personal: office does not see others' days."""
    person = db.session.get(User, person_id)
    if person is None or not (person.id == user.id or may_administer(user)
                              or manages(user, person)):
        abort(404)
    return person


def may_check_in(user: User) -> bool:
    """Reps (and anyone holding customers) check in; managers read their people's days."""
    return may_hold_customers(user) or leads_teams(user)


# --- reminders and notifications (issue 11) ---

def may_use_tasks(user: User) -> bool:
    """Anyone signed in sets reminders for themselves."""
    return user.is_authenticated


def may_assign_tasks(user: User) -> bool:
    """Managers give tasks to the people they lead."""
    return leads_teams(user)


def task_assignees(user: User) -> Select:
    """Who `user` may give a task to: themselves, and the active people they lead."""
    return (select(User).where(User.active.is_(True),
                               (User.id == user.id) | User.id.in_(led_people(user)))
            .order_by(User.id != user.id, User.name, User.id))


def tasks_scope(user: User) -> Select:
    """Tasks the user may open: their own, those they gave, those of the people they lead."""
    from crm.reminders.models import Task

    return select(Task).where((Task.assignee_id == user.id) | (Task.created_by_id == user.id)
                              | Task.assignee_id.in_(led_people(user)))


def may_work_task(user: User, task) -> bool:
    """Done or snoozed by its assignee, whoever gave it, or a manager over the assignee."""
    return user.id in (task.assignee_id, task.created_by_id) or (
        task.assignee is not None and manages(user, task.assignee))


def task_or_404(user: User, task_id: int, *, to_work: bool = False):
    from crm.reminders.models import Task

    task = get_visible_or_404(tasks_scope(user), Task, task_id)
    if to_work and not may_work_task(user, task):
        abort(403)
    return task


def notifications_scope(user: User) -> Select:
    """Everyone reads their own notifications, nobody else's."""
    from crm.notifications.models import Notification

    return select(Notification).where(Notification.user_id == user.id)


def notification_or_404(user: User, notification_id: int):
    from crm.notifications.models import Notification

    return get_visible_or_404(notifications_scope(user), Notification, notification_id)


def may_manage_deliveries(user: User) -> bool:
    """Work-chat robots, their test message and failed deliveries: administrators."""
    return may_administer(user)


# --- customer's voice: feedback, surveys, care (issue 18) ---

def feedback_scope(user: User) -> Select:
    """Feedback on owned customers the user may open, and whatever is assigned to them;
    office and admin all."""
    from crm.voice.models import Feedback

    query = select(Feedback)
    if sees_every_team(user):
        return query
    # What customers said stays with those who work them: a pool card shows everyone only
    # what the pool shows.
    return query.where(sees_customer_of(user, Feedback.customer_id, owned_only=True)
                       | (Feedback.assignee_id == user.id))


def may_register_feedback(user: User, customer) -> bool:
    """Office takes feedback on any customer; reps and managers on customers they work."""
    return may_edit_customer(user, customer)


def may_handle_feedback(user: User, feedback) -> bool:
    """Its assignee, managers above the assignee (or of the customer's owner), office, admin."""
    if sees_every_team(user):
        return True
    if feedback.assignee_id == user.id:
        return True
    people = [p for p in (feedback.assignee, feedback.customer.owner) if p is not None]
    return any(manages(user, person) for person in people)


def may_assign_feedback(user: User) -> bool:
    """Choosing who handles feedback: managers, office and admin."""
    return looks_across_people(user)


def may_list_feedback(user: User) -> bool:
    """The feedback list with filters and its export: office, managers and admin."""
    return looks_across_people(user)


def feedback_or_404(user: User, feedback_id: int, *, to_handle: bool = False):
    from crm.voice.models import Feedback

    scope = feedback_scope(user).options(joinedload(Feedback.customer),
                                         joinedload(Feedback.assignee))
    feedback = get_visible_or_404(scope, Feedback, feedback_id)
    if to_handle and not may_handle_feedback(user, feedback):
        abort(403)
    return feedback


def feedback_assignees(user: User) -> Select:
    """Who feedback may be given to: active colleagues the user sees, office included."""
    return assignable_users(user, roles=(Role.REP, Role.MANAGER, Role.OFFICE))


def surveys_scope(user: User) -> Select:
    """Surveys of owned customers the user may open, and those rating the user's own work."""
    from crm.voice.models import Survey

    query = select(Survey)
    if sees_every_team(user):
        return query
    return query.where(sees_customer_of(user, Survey.customer_id, owned_only=True)
                       | (Survey.rep_id == user.id))


def may_send_survey(user: User, customer) -> bool:
    """Whoever works an owned customer (a survey rates its owner's work), office and admin."""
    return customer.owner_id is not None and may_edit_customer(user, customer)


def survey_or_404(user: User, survey_id: int):
    from crm.voice.models import Survey

    return get_visible_or_404(surveys_scope(user).options(joinedload(Survey.customer)),
                              Survey, survey_id)


def may_see_satisfaction(user: User) -> bool:
    """Satisfaction per rep and team: everyone (a rep sees their own row)."""
    return user.is_authenticated


def satisfaction_people(user: User) -> Select:
    """Whose satisfaction figures the user may read: their own (reps), their team tree
    (managers), everyone (office, admin)."""
    if not looks_across_people(user):
        return select(User).where(User.id == user.id)
    return people_at_work(user)


def care_customers(user: User) -> Select:
    """Customers on the user's care list: their own (reps), their team tree's (managers),
    every owned customer (office, admin). The pool has nobody to care for it."""
    return customers_in_tab(user, "team" if looks_across_people(user) else "mine")


def may_record_care(user: User, customer) -> bool:
    return may_edit_customer(user, customer)


def may_manage_member_days(user: User) -> bool:
    """Member days are set by managers for their teams, office and admin for any."""
    return looks_across_people(user)


def member_days_scope(user: User) -> Select:
    from crm.voice.models import MemberDay

    ids = visible_team_ids(user)
    query = select(MemberDay)
    return query if ids is None else query.where(MemberDay.team_id.in_(ids))


def member_day_or_404(user: User, member_day_id: int):
    from crm.voice.models import MemberDay

    return get_visible_or_404(member_days_scope(user), MemberDay, member_day_id)


def may_export_care(user: User) -> bool:
    """Care lists and member-day reach as XLSX: office's work (and admin's, managers')."""
    return looks_across_people(user)


def may_edit_voice_settings(user: User) -> bool:
    """Deadlines, the survey scale and thresholds per team: administrators."""
    return may_administer(user)
# --- data rights, audit trail and retention (issue 15) ---

def may_handle_data_requests(user: User) -> bool:
    """Office and admin keep the register of data subjects' requests and export a
    customer's data for them."""
    return user.is_authenticated and sees_every_team(user)


def may_erase(user: User) -> bool:
    """Irreversible steps on personal data (erasure, legal holds, deleting recordings after
    consent is withdrawn, retention settings) are an administrator's."""
    return may_administer(user)


def may_read_audit_trail(user: User) -> bool:
    return may_administer(user)


def data_request_or_404(user: User, request_id: int):
    from crm.privacy.models import DataRequest

    if not may_handle_data_requests(user):
        abort(403)
    request_row = db.session.get(DataRequest, request_id)
    if request_row is None:
        abort(404)
    return request_row


def data_export_or_404(user: User, token: str):
    """An export's download: the handlers only, with the link's token, until it expires."""
    from crm.clock import utcnow
    from crm.privacy.models import DataExport, ExportStatus

    if not may_handle_data_requests(user):
        abort(403)
    export = db.session.scalars(select(DataExport).where(DataExport.token == token)).first()
    if export is None or export.status != ExportStatus.READY or export.expires_at <= utcnow():
        abort(404)
    return export


def consent_stands(customer) -> bool:
    """Withdrawn consent to recording stops playback and review for everyone."""
    return customer.consent_withdrawn_at is None


def _with_consent(query: Select) -> Select:
    """Recordings whose customer has not withdrawn consent (recordings_scope and the review
    loaders); admins still reach withdrawn ones through crm.privacy to delete them."""
    from crm.customers.models import Customer
    from crm.followups.models import FollowUp
    from crm.recordings.models import Recording

    withdrawn = select(FollowUp.id).join(Customer, Customer.id == FollowUp.customer_id).where(
        Customer.consent_withdrawn_at.is_not(None))
    return query.where(Recording.follow_up_id.not_in(withdrawn))


def may_need_two_factor(user: User) -> bool:
    """Whom the administrator's "two-factor for managers and admins" setting covers."""
    return leads_teams(user) or may_administer(user)


# --- reliability (issue 14) ---

def may_retry_recording(user: User, recording) -> bool:
    """Those who may add a recording to the follow-up may have a failed one processed again."""
    return may_edit_customer(user, recording.follow_up.customer)


def recording_to_retry_or_404(user: User, recording_id: int):
    """A recording the user may hear (else 404) and have processed again (else 403)."""
    recording = recording_or_404(user, recording_id)
    if not may_retry_recording(user, recording):
        abort(403)
    return recording
