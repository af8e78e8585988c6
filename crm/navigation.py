"""The navigation every page shows: areas add their entries here as they arrive."""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from crm import access


def everyone(_user) -> bool:
    return True


# Groups, in the order the side bar and the More page list them; an item's place inside its
# group is the order below (the most used first).
NAV_GROUPS = {
    "work": _l("Daily work"),
    "results": _l("Results"),
    "voice": _l("Customer's voice"),
    "admin": _l("Administration"),
}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    icon: str
    shown_to: Callable[[object], bool] = everyone  # a predicate of crm.access
    phone: bool = True  # shown in the phone's bottom bar (else under More)
    admin: bool = False  # listed under Administration on the More page
    badge: bool = False  # shows the user's unread notifications as a count
    phone_label: object = None  # a shorter word for the phone's bottom bar
    group: str = "work"  # a key of NAV_GROUPS; None: no group (More itself)


NAV_ITEMS = [
    # Daily work: what a rep opens every day, then what a manager does every day.
    NavItem("today.index", _l("Today"), "today"),
    NavItem("customers.index", _l("Customers"), "customers"),
    NavItem("pipeline.index", _l("Pipeline"), "pipeline"),
    NavItem("reminders.index", _l("Notifications"), "bell", badge=True,
            phone_label=lazy_pgettext("bottom navigation", "Alerts")),
    NavItem("reminders.tasks", _l("Tasks"), "task", shown_to=access.may_use_tasks,
            phone=False),
    NavItem("followups.index", _l("My follow-ups"), "followups",
            shown_to=access.may_hold_customers, phone=False),
    NavItem("checkins.index", _l("Check-ins"), "visit", shown_to=access.may_check_in,
            phone=False),
    NavItem("reviews.index", _l("Recording reviews"), "reviews",
            shown_to=access.may_use_reviews,
            phone_label=lazy_pgettext("bottom navigation", "Reviews")),
    NavItem("followups.ride_alongs", _l("My ride-alongs"), "ridealong",
            shown_to=access.may_hold_customers, phone=False),
    # Results: figures, goals and the weekly pipeline review, then the team's lead rules.
    NavItem("dashboard.index", _l("Dashboard"), "chart", phone=False, group="results"),
    NavItem("goals.index", _l("Goals"), "target", phone=False, group="results"),
    NavItem("pipeline.a_deals", _l("A deals"), "grade", phone=False, group="results"),
    NavItem("pipeline.sheet", _l("Review sheet"), "sheet", phone=False, group="results"),
    NavItem("reports.index", _l("Reports"), "report", shown_to=access.may_use_reports,
            phone=False, group="results"),
    NavItem("routing.index", _l("Routing"), "teams", shown_to=access.may_manage_routing,
            phone=False, group="results"),
    # The customer's voice.
    NavItem("voice.feedback_index", _l("Feedback"), "feedback", shown_to=access.may_list_feedback,
            phone=False, group="voice"),
    NavItem("voice.care_index", _l("Customer care"), "care", phone=False, group="voice"),
    NavItem("voice.satisfaction_view", _l("Satisfaction"), "satisfaction", phone=False,
            group="voice"),
    NavItem("voice.member_days", _l("Member days"), "memberday", phone=False, group="voice"),
    NavItem("reviews.rubric", _l("Review rubric"), "edit", shown_to=access.may_edit_rubric,
            phone=False, admin=True, group="admin"),
    NavItem("admin.users", _l("Users"), "users", shown_to=access.may_administer, phone=False,
            admin=True, group="admin"),
    NavItem("admin.teams", _l("Teams"), "teams", shown_to=access.may_administer, phone=False,
            admin=True, group="admin"),
    NavItem("system.index", _l("System"), "system", shown_to=access.may_administer,
            phone=False, admin=True, group="admin"),
    NavItem("privacy.index", _l("Data requests"), "key",
            shown_to=access.may_handle_data_requests, phone=False, admin=True, group="admin"),
    NavItem("audit.index", _l("Audit trail"), "sheet", shown_to=access.may_read_audit_trail,
            phone=False, admin=True, group="admin"),
    NavItem("privacy.retention_settings", _l("Retention"), "system",
            shown_to=access.may_erase, phone=False, admin=True, group="admin"),
    NavItem("accounts.security", _l("Sign-in security"), "key",
            shown_to=access.may_administer, phone=False, admin=True, group="admin"),
    NavItem("accounts.more", _l("More"), "more", group=None),
]


def here_url() -> str:
    """A URL that shows this page again with a GET: the page itself, or, after a POST,
    the same-site page the form was on (a POST-only address would answer 405)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("today.index")


def safe_next_url(candidate: str | None, default: str) -> str:
    """Only same-site paths: never send a user to another host after signing in or after
    a form that says where to go back to."""
    if not candidate:
        return default
    parts = urlsplit(candidate)
    if (parts.scheme or parts.netloc or not candidate.startswith("/")
            or candidate.startswith(("//", "/\\")) or "\\" in candidate):
        return default
    return candidate


def nav_items_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [item for item in NAV_ITEMS if item.shown_to(user)]


def nav_groups(items: list[NavItem], *, phone: bool | None = None) -> list[tuple]:
    """[(heading or None, items)] in NAV_GROUPS' order; `phone=False` keeps what the phone's
    bottom bar leaves to the More page. Ungrouped items (More) come last, without heading."""
    chosen = [i for i in items if phone is None or i.phone == phone]
    groups = [(label, [i for i in chosen if i.group == key]) for key, label in NAV_GROUPS.items()]
    groups.append((None, [i for i in chosen if i.group is None]))
    return [(label, members) for label, members in groups if members]


def inject_navigation():
    items = nav_items_for(current_user)
    badge = 0
    if any(item.badge for item in items):
        # Counted by the query that loaded the user (crm.accounts.sessions); asked here only
        # when the user came another way.
        badge = getattr(current_user, "unread_notifications", None)
        if badge is None:
            from crm.notifications.inbox import unread_count

            badge = unread_count(current_user.id)
    return {"nav_items": items, "nav_badge": badge, "nav_groups": nav_groups}


def url_maker(endpoint: str, argument: str) -> Callable[[int], str]:
    """`url_for(endpoint, argument=n)` for many n at the cost of one: a list of hundreds of
    cards asks the routing map once and fills in each id."""
    marker = 987654321
    head, tail = url_for(endpoint, **{argument: marker}).split(str(marker))
    return lambda value: f"{head}{int(value)}{tail}"
