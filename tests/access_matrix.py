"""The access matrix: every route × every role → the status that role must get.

Later areas append their routes to ROUTES. `test_access.py` checks each role against the
matrix and that every route the app serves is listed here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

# Who is asked. "anonymous" has no session; the rest are people of the `world` fixture:
# rep/rep2/manager share a team, region_manager leads the region above it, rep3/manager2 are
# another team, office and admin see across teams.
ROLES = ("anonymous", "rep", "rep2", "manager", "region_manager", "rep3", "manager2",
         "office", "admin")
SIGNED_IN = ROLES[1:]

TO_LOGIN = 302  # a page that needs a session sends the anonymous visitor to sign in


@dataclass
class Route:
    method: str
    rule: str  # as in app.url_map
    expect: dict[str, int]
    url: Callable | None = None  # world -> concrete URL, for rules with parameters
    data: Callable | None = None  # world -> form data for POSTs

    def build_url(self, world) -> str:
        return self.url(world) if self.url else self.rule

    def form(self, world) -> dict:
        return self.data(world) if self.data else {}

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}"


def signed_in(status: int, **exceptions) -> dict[str, int]:
    """Every signed-in role gets `status`; anonymous is sent to the login page."""
    return {"anonymous": TO_LOGIN, **{role: status for role in SIGNED_IN}, **exceptions}


def everyone(status: int) -> dict[str, int]:
    return {role: status for role in ROLES}


def only(roles: tuple[str, ...], status: int, others: int = 403) -> dict[str, int]:
    return {"anonymous": TO_LOGIN,
            **{role: (status if role in roles else others) for role in SIGNED_IN}}


POOL_RULES = {"protection_days": "30", "holding_limit": "200", "expiry_warning_days": "3"}


def _user_form(world, target) -> dict:
    return {"name": "Renamed", "email": target.email, "phone": "", "role": target.role.value,
            "team_id": str(target.team_id or ""), "locale": "", "timezone": "Asia/Shanghai",
            "specialty_industries": "", "specialty_size_band": "", "version": "1"}


# Areas keep their rows in their own modules; they import the helpers above.
from tests.access_matrix_customers import CUSTOMER_ROUTES  # noqa: E402
from tests.access_matrix_goals import GOAL_ROUTES  # noqa: E402
from tests.access_matrix_office import OFFICE_ROUTES  # noqa: E402
from tests.access_matrix_offline import OFFLINE_ROUTES  # noqa: E402
from tests.access_matrix_pipeline import PIPELINE_ROUTES  # noqa: E402
from tests.access_matrix_privacy import PRIVACY_ROUTES  # noqa: E402
from tests.access_matrix_reminders import REMINDER_ROUTES  # noqa: E402
from tests.access_matrix_reviews import REVIEW_ROUTES  # noqa: E402
from tests.access_matrix_routing import ROUTING_ROUTES  # noqa: E402
from tests.access_matrix_voice import VOICE_ROUTES  # noqa: E402

ROUTES: list[Route] = [
    # Accounts
    Route("GET", "/login", {**everyone(302), "anonymous": 200}),
    Route("POST", "/login", everyone(422),
          data=lambda w: {"email": w.rep.email, "password": "not-the-password"}),
    Route("GET", "/more", signed_in(200)),
    Route("POST", "/account/preferences", signed_in(303),
          data=lambda w: {"locale": "en", "timezone": "Asia/Shanghai"}),
    Route("GET", "/account/password", signed_in(200)),
    Route("POST", "/account/password", signed_in(422),
          data=lambda w: {"current_password": "wrong-one", "new_password": "whatever-123",
                          "confirm": "whatever-123"}),
    Route("POST", "/locale", everyone(303), data=lambda w: {"locale": "en", "next": "/"}),
    # Today
    Route("GET", "/", signed_in(200)),
    # System
    Route("GET", "/healthz", everyone(200)),
    Route("GET", "/readyz", everyone(200)),
    Route("GET", "/system", only(("admin",), 200)),
    Route("POST", "/system/jobs/<queue_name>/<job_id>/retry", only(("admin",), 303),
          url=lambda w: "/system/jobs/default/no-such-job/retry"),
    # Administration
    Route("GET", "/admin/users", only(("admin",), 200)),
    Route("GET", "/admin/users/new", only(("admin",), 200)),
    Route("POST", "/admin/users", only(("admin",), 303),
          data=lambda w: {"name": "New Person", "email": "new.person@example.test",
                          "role": "rep", "team_id": str(w.teams.sh1), "locale": "",
                          "timezone": "Asia/Shanghai", "password": "initial-pass-1",
                          "specialty_size_band": ""}),
    Route("GET", "/admin/users/<int:user_id>/edit", only(("admin",), 200),
          url=lambda w: f"/admin/users/{w.rep3.id}/edit"),
    Route("POST", "/admin/users/<int:user_id>", only(("admin",), 303),
          url=lambda w: f"/admin/users/{w.rep3.id}", data=lambda w: _user_form(w, w.rep3)),
    Route("POST", "/admin/users/<int:user_id>/deactivate", only(("admin",), 303),
          url=lambda w: f"/admin/users/{w.hz_rep.id}/deactivate"),
    Route("POST", "/admin/users/<int:user_id>/password-reset", only(("admin",), 200),
          url=lambda w: f"/admin/users/{w.hz_rep.id}/password-reset"),
    Route("POST", "/admin/users/<int:user_id>/reactivate", only(("admin",), 303),
          url=lambda w: f"/admin/users/{w.hz_rep.id}/reactivate"),
    Route("GET", "/admin/teams", only(("admin",), 200)),
    Route("POST", "/admin/teams", only(("admin",), 303),
          data=lambda w: {"name": "Brand new team", "parent_id": "", **POOL_RULES}),
    Route("GET", "/admin/teams/<int:team_id>/edit", only(("admin",), 200),
          url=lambda w: f"/admin/teams/{w.teams.sz}/edit"),
    Route("POST", "/admin/teams/<int:team_id>", only(("admin",), 303),
          url=lambda w: f"/admin/teams/{w.teams.sz}",
          data=lambda w: {"name": "Shenzhen renamed", "parent_id": str(w.teams.south),
                          **POOL_RULES}),
    Route("POST", "/admin/teams/<int:team_id>/delete", only(("admin",), 303),
          url=lambda w: f"/admin/teams/{w.teams.empty}/delete"),
    # Before the customer rows, one of which releases the rep's customer to the pool.
    *VOICE_ROUTES,
    *PIPELINE_ROUTES,
    *GOAL_ROUTES,
    *OFFLINE_ROUTES,  # before the customer routes release and transfer the rep's customer
    *CUSTOMER_ROUTES,
    *OFFICE_ROUTES,
    *REVIEW_ROUTES,
    *ROUTING_ROUTES,
    *REMINDER_ROUTES,
    *PRIVACY_ROUTES,
    # Last, because it ends the session the rows above use.
    Route("POST", "/logout", everyone(303)),
]


@dataclass
class Outcome:
    route: str
    role: str
    expected: int
    got: int
    location: str | None = None
    extra: dict = field(default_factory=dict)


def check_role(app, world, role: str, routes=None) -> list[Outcome]:
    """Ask every route as `role`; return the mismatches (an empty list is a pass)."""
    client = app.test_client()
    if role != "anonymous":
        response = client.login(getattr(world, role).email)
        assert response.status_code == 303, f"{role} could not sign in"
    mismatches = []
    for route in routes or ROUTES:
        url = route.build_url(world)
        if route.method == "GET":
            response = client.get(url)
        else:
            response = client.post_form(url, route.form(world))
        expected = route.expect[role]
        if response.status_code != expected:
            mismatches.append(Outcome(route.id, role, expected, response.status_code,
                                      response.headers.get("Location")))
        elif expected == TO_LOGIN and role == "anonymous":
            assert "/login" in response.headers["Location"], route.id
    return mismatches
