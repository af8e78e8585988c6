"""The navigation every page shows: areas add their entries here as they arrive."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.accounts.models import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    icon: str
    roles: tuple[Role, ...] = tuple(Role)
    phone: bool = True  # shown in the phone's bottom bar (else under More)


NAV_ITEMS = [
    NavItem("today.index", _l("Today"), "today"),
    NavItem("admin.users", _l("Users"), "users", roles=(Role.ADMIN,), phone=False),
    NavItem("admin.teams", _l("Teams"), "teams", roles=(Role.ADMIN,), phone=False),
    NavItem("system.index", _l("System"), "system", roles=(Role.ADMIN,), phone=False),
    NavItem("accounts.more", _l("More"), "more"),
]


def nav_items_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [item for item in NAV_ITEMS if user.role in item.roles]


def inject_navigation():
    return {"nav_items": nav_items_for(current_user)}
