"""Every route, every role: exactly what each may see and do."""

import pytest

from tests.access_matrix import ROLES, ROUTES, check_role


@pytest.mark.recording
@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, world, role):
    assert check_role(app, world, role) == []


def test_every_route_is_in_the_matrix(app):
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules() if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {(route.method, route.rule) for route in ROUTES}
    assert served - listed == set(), "routes missing from tests/access_matrix.py"
    assert listed - served == set(), "matrix lists routes the app does not serve"


def _post_route(route):
    """Routes on a recording or a review need the world's recording."""
    needs_recording = route.rule.startswith(("/recordings/", "/reviews/"))
    return pytest.param(route, id=route.id,
                        marks=[pytest.mark.recording] if needs_recording else [])


@pytest.mark.parametrize("route", [_post_route(r) for r in ROUTES if r.method == "POST"])
def test_every_post_needs_a_csrf_token(app, world, login_as, route):
    client = login_as("admin")
    # A row may carry its own token (the public survey's is signed, not kept in a session).
    data = {k: v for k, v in route.form(world).items() if k != "csrf_token"}
    response = client.post(route.build_url(world), data=data)
    assert response.status_code == 400
    assert "过期" in response.get_data(as_text=True)


def test_csrf_token_accepted_as_htmx_header(app, world, login_as):
    client = login_as("admin")
    token = client.csrf_token()
    response = client.post("/admin/teams", data={"name": "Via htmx", "parent_id": ""},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/admin/teams"


def test_unknown_objects_are_404_for_admins(app, world, login_as):
    client = login_as("admin")
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.get("/admin/teams/999999/edit").status_code == 404
