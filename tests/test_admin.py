"""Administration of accounts and teams: validation, stale edits, lists and the tree."""

from sqlalchemy import select

from crm.accounts.models import Role, Team, User
from crm.extensions import db
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}


def _new_user_form(**overrides):
    form = {"name": "新同事", "email": "new@example.test", "phone": "", "role": "rep",
            "team_id": "", "locale": "", "timezone": "Asia/Shanghai", "password": "",
            "specialty_industries": "", "specialty_size_band": ""}
    form.update(overrides)
    return form


def test_create_user_with_generated_password(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form("/admin/users", _new_user_form(team_id=str(world.teams.sh1)))
    assert response.status_code == 200
    temporary = response.get_data(as_text=True).split('id="temporary-password">')[1].split("<")[0]
    assert len(temporary) >= 8
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "new@example.test")).one()
        assert user.must_change_password and user.team_id == world.teams.sh1
    assert app.test_client().login("new@example.test", temporary).status_code == 303


def test_create_user_refuses_duplicate_email_and_keeps_input(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form("/admin/users", _new_user_form(
        email=world.rep.email.upper(), name="Keep Me", team_id=str(world.teams.sh1)),
        headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Another account already uses this e-mail." in html
    assert 'value="Keep Me"' in html
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 9


def test_reps_need_a_team(world, login_as):
    response = login_as("admin").post_form("/admin/users", _new_user_form(), headers=EN)
    assert response.status_code == 422
    assert "Reps and managers belong to a team." in response.get_data(as_text=True)


def test_stale_edit_is_refused_with_both_versions_visible(app, world, login_as):
    first, second = login_as("admin"), app.test_client()
    second.login(world.admin.email)
    form = {"email": world.rep.email, "role": "rep", "team_id": str(world.teams.sh1),
            "phone": "", "locale": "", "timezone": "Asia/Shanghai",
            "specialty_industries": "", "specialty_size_band": "", "version": "1"}
    assert first.post_form(f"/admin/users/{world.rep.id}",
                           {**form, "name": "Saved First"}).status_code == 303
    response = second.post_form(f"/admin/users/{world.rep.id}",
                                {**form, "name": "Typed Second"}, headers=EN)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved changes" in html
    assert 'value="Typed Second"' in html  # what this admin typed is kept
    assert "Saved First" in html.split('id="saved-version"')[1]  # and the saved version shown
    with app.app_context():
        assert db.session.get(User, world.rep.id).name == "Saved First"

    # Having seen the other version, saving again replaces it.
    version = html.split('name="version" type="hidden" value="')[1].split('"')[0]
    again = second.post_form(f"/admin/users/{world.rep.id}",
                             {**form, "name": "Typed Second", "version": version})
    assert again.status_code == 303
    with app.app_context():
        assert db.session.get(User, world.rep.id).name == "Typed Second"


def test_a_validation_error_keeps_the_version_the_form_was_opened_at(app, world, login_as):
    admin = login_as("admin")
    form = {"email": world.rep.email, "role": "rep", "team_id": str(world.teams.sh1),
            "phone": "", "locale": "", "timezone": "Asia/Shanghai",
            "specialty_industries": "", "specialty_size_band": "", "version": "1"}
    invalid = admin.post_form(f"/admin/users/{world.rep.id}", {**form, "name": ""})
    assert invalid.status_code == 422
    assert 'name="version" type="hidden" value="1"' in invalid.get_data(as_text=True)


def test_a_tampered_version_counts_as_stale(world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/users/{world.rep.id}", {
        "name": "X", "email": world.rep.email, "role": "rep", "team_id": str(world.teams.sh1),
        "locale": "", "timezone": "Asia/Shanghai", "specialty_size_band": "",
        "version": "not-a-number"})
    assert response.status_code == 409


def test_admin_cannot_deactivate_themselves(app, world, login_as):
    admin = login_as("admin")
    admin.post_form(f"/admin/users/{world.admin.id}/deactivate")
    with app.app_context():
        assert db.session.get(User, world.admin.id).active


def test_user_list_search_filters_and_fragment(world, login_as):
    admin = login_as("admin")
    page = admin.get("/admin/users?q=rep2").get_data(as_text=True)
    assert "rep2@example.test" in page and "rep3@example.test" not in page
    by_role = admin.get("/admin/users?role=manager").get_data(as_text=True)
    assert "manager2@example.test" in by_role and "rep@example.test" not in by_role
    by_team = admin.get(f"/admin/users?team_id={world.teams.sz}").get_data(as_text=True)
    assert "rep3@example.test" in by_team and "rep2@example.test" not in by_team

    fragment = admin.get("/admin/users?q=rep2", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "rep2@example.test" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = admin.get("/admin/users", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_user_list_loads_more_by_keyset(app, world, make_user, login_as):
    for n in range(60):
        make_user(Role.REP, world.teams.hz, name=f"Zz {n:03d}")
    admin = login_as("admin")
    first = admin.get("/admin/users").get_data(as_text=True)
    assert first.count("Zz ") < 60 and "加载更多" in first
    more_url = first.split('class="load-more"')[1].split('href="')[1].split('"')[0]
    second = admin.get(more_url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    text = second.get_data(as_text=True)
    shown = {f"Zz {n:03d}" for n in range(60) if f"Zz {n:03d}<" in first + text}
    assert len(shown) == 60


def test_user_list_query_count_does_not_grow(app, world, make_user, login_as):
    admin = login_as("admin")
    admin.get("/admin/users")
    with count_queries(app) as few:
        admin.get("/admin/users")
    for _ in range(40):
        make_user(Role.REP, world.teams.hz)
    with count_queries(app) as many:
        admin.get("/admin/users")
    assert few.count == many.count


def test_team_move_carries_the_subtree(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/teams/{world.teams.east}",
                               {"name": "East", "parent_id": str(world.teams.south)})
    assert response.status_code == 303
    with app.app_context():
        south = db.session.get(Team, world.teams.south)
        sh1 = db.session.get(Team, world.teams.sh1)
        assert sh1.path.startswith(south.path)
        assert sh1.path == f"/{world.teams.south}/{world.teams.east}/{world.teams.sh1}/"


def test_team_cannot_move_under_its_own_subtree(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/teams/{world.teams.east}",
                               {"name": "East", "parent_id": str(world.teams.sh1)}, headers=EN)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Team, world.teams.east).parent_id is None


def test_only_empty_teams_can_be_deleted(app, world, login_as):
    admin = login_as("admin")
    admin.post_form(f"/admin/teams/{world.teams.sh1}/delete")
    admin.post_form(f"/admin/teams/{world.teams.empty}/delete")
    with app.app_context():
        assert db.session.get(Team, world.teams.sh1) is not None
        assert db.session.get(Team, world.teams.empty) is None


def test_team_form_errors_keep_input(world, login_as):
    response = login_as("admin").post_form("/admin/teams", {"name": "", "parent_id": ""})
    assert response.status_code == 422
    assert 'class="errors"' in response.get_data(as_text=True)


def test_the_last_admin_cannot_step_down(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/users/{world.admin.id}", {
        "name": "Admin", "email": world.admin.email, "role": "office", "team_id": "",
        "locale": "", "timezone": "Asia/Shanghai", "specialty_size_band": "", "version": "1"},
        headers=EN)
    assert response.status_code == 422
    assert "last active administrator" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, world.admin.id).role == Role.ADMIN
