"""Issue 17, the admin's part: team names are unique among siblings (top level included), and
a new account's page does not claim to have signed anybody out."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from crm.accounts import teams as team_rules
from crm.accounts.models import Team
from crm.accounts.teams import create_team, move_team, rename_team
from crm.errors import DomainError
from crm.extensions import db

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
POOL_RULES = {"protection_days": "30", "holding_limit": "200", "expiry_warning_days": "3"}


def _team_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Team))


def _name_errors(html: str) -> str:
    assert 'id="name-errors"' in html, html[:3000]
    return html.split('id="name-errors"')[1].split("</ul>")[0]


# Creating ----------------------------------------------------------------------------------

def test_a_second_team_with_the_same_name_under_one_parent_is_refused(app, world, login_as):
    admin = login_as("admin")
    before = _team_count(app)
    response = admin.post_form("/admin/teams", {"name": "shanghai 1 ", "parent_id":
                                                str(world.teams.east), **POOL_RULES,
                                                "holding_limit": "123"}, headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert ("East already has a team named “shanghai 1”. Choose another name."
            in _name_errors(html))
    assert 'value="shanghai 1 "' in html and 'value="123"' in html  # the input is kept
    assert f'<option selected value="{world.teams.east}">' in html
    assert _team_count(app) == before


def test_a_second_top_level_team_with_the_same_name_is_refused(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form("/admin/teams", {"name": "South", "parent_id": "", **POOL_RULES},
                               headers=ZH)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "已有名为“South”的顶级团队，请换一个名称。" in _name_errors(html)


def test_the_same_name_under_another_parent_is_fine(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form("/admin/teams", {"name": "Shanghai 1", "parent_id":
                                                str(world.teams.south), **POOL_RULES})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Team).where(
            Team.name == "Shanghai 1")) == 2


# Renaming and moving -----------------------------------------------------------------------

def test_renaming_into_a_clash_is_refused_with_the_input_kept(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/teams/{world.teams.hz}", {
        "name": "SHANGHAI 1", "parent_id": str(world.teams.east), **POOL_RULES,
        "holding_limit": "77"}, headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "East already has a team named “SHANGHAI 1”." in _name_errors(html)
    assert 'value="SHANGHAI 1"' in html and 'value="77"' in html
    with app.app_context():
        team = db.session.get(Team, world.teams.hz)
        assert (team.name, team.holding_limit) == ("Hangzhou", 200)  # nothing saved


def test_renaming_a_top_level_team_into_a_clash_is_refused(app, world, login_as):
    response = login_as("admin").post_form(f"/admin/teams/{world.teams.empty}", {
        "name": "East", "parent_id": "", **POOL_RULES}, headers=EN)
    assert response.status_code == 422
    assert "There is already a top-level team named “East”." in _name_errors(
        response.get_data(as_text=True))


def test_moving_next_to_a_namesake_is_refused(app, world, login_as):
    admin = login_as("admin")
    assert admin.post_form("/admin/teams", {"name": "Shenzhen", "parent_id": "",
                                            **POOL_RULES}).status_code == 303
    # The Shenzhen team under South moves to the top, where a Shenzhen team now is.
    response = admin.post_form(f"/admin/teams/{world.teams.sz}", {
        "name": "Shenzhen", "parent_id": "", **POOL_RULES}, headers=EN)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Team, world.teams.sz).parent_id == world.teams.south


def test_keeping_its_own_name_and_renaming_while_moving_away_are_fine(app, world, login_as):
    admin = login_as("admin")
    same = admin.post_form(f"/admin/teams/{world.teams.hz}", {
        "name": "Hangzhou", "parent_id": str(world.teams.east), **POOL_RULES})
    assert same.status_code == 303
    # "Shanghai 1" is taken under East, but Hangzhou takes it as it moves to South.
    moved = admin.post_form(f"/admin/teams/{world.teams.hz}", {
        "name": "Shanghai 1", "parent_id": str(world.teams.south), **POOL_RULES})
    assert moved.status_code == 303, moved.get_data(as_text=True)[:2000]
    with app.app_context():
        team = db.session.get(Team, world.teams.hz)
        assert (team.name, team.parent_id) == ("Shanghai 1", world.teams.south)
        assert team.path == f"/{world.teams.south}/{world.teams.hz}/"


def test_the_domain_functions_refuse_clashes(app, world):
    with app.test_request_context(headers=EN), app.app_context():
        east = db.session.get(Team, world.teams.east)
        with pytest.raises(DomainError) as refused:
            create_team("HANGZHOU", east)
        assert refused.value.field == "name"
        db.session.rollback()
        with pytest.raises(DomainError):
            create_team("east")  # top level
        db.session.rollback()
        with pytest.raises(DomainError):
            rename_team(db.session.get(Team, world.teams.hz), "Shanghai 1")
        db.session.rollback()
        with pytest.raises(DomainError):
            move_team(db.session.get(Team, world.teams.empty), None, name="South")
        db.session.rollback()


# The database ------------------------------------------------------------------------------

def test_the_database_refuses_a_namesake_even_at_the_top_level(app, world):
    with app.app_context():
        db.session.add(Team(name="south", parent_id=None, path="/x/"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_clash_the_check_missed_gets_the_same_message(app, world, monkeypatch):
    # Two admins saving the same name at once both pass the check; the index stops one.
    monkeypatch.setattr(team_rules, "check_name_free", lambda *args, **kwargs: None)
    with app.test_request_context(headers=EN), app.app_context():
        with pytest.raises(DomainError) as refused:
            create_team("Hangzhou", db.session.get(Team, world.teams.east))
        assert refused.value.field == "name"
        assert "already has a team named" in str(refused.value.message)
        db.session.rollback()


@pytest.mark.committed  # Alembic runs on a connection of its own
def test_the_migration_renames_clashes_it_finds(app):
    with app.app_context():
        downgrade(revision="0008_built_in_rubric")
        with db.engine.begin() as connection:
            for team_id, parent_id, name in [(1, None, "East"), (2, None, "east"),
                                             (3, 1, "Sales"), (4, 1, "Sales"),
                                             (5, 2, "Sales"), (6, None, "West")]:
                connection.execute(text(
                    "INSERT INTO teams (id, name, parent_id, path, created_at, protection_days,"
                    " holding_limit, expiry_warning_days, daily_review_target, grade_a_days,"
                    " grade_b_days, grade_c_days) VALUES (:id, :name, :parent_id, :path,"
                    " CURRENT_TIMESTAMP, 30, 200, 3, 2, 7, 14, 30)"),
                    {"id": team_id, "name": name, "parent_id": parent_id, "path": f"/{team_id}/"})
        upgrade()
        names = dict(db.session.execute(select(Team.id, Team.name)).all())
        assert names == {1: "East", 2: "east (2)", 3: "Sales", 4: "Sales (4)", 5: "Sales",
                         6: "West"}
        db.session.remove()


# A new account -----------------------------------------------------------------------------

def _new_user_form(team_id) -> dict:
    return {"name": "新同事", "email": "new@example.test", "phone": "", "role": "rep",
            "team_id": str(team_id), "locale": "", "timezone": "Asia/Shanghai",
            "password": "", "specialty_industries": "", "specialty_size_band": ""}


def test_creating_a_user_does_not_say_sessions_were_signed_out(app, world, login_as):
    admin = login_as("admin")
    created = admin.post_form("/admin/users", _new_user_form(world.teams.sh1), headers=EN)
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    assert 'id="temporary-password"' in html
    assert "signed out" not in html
    assert "Account created for 新同事." in html
    # A reset still says so: that one does end their sessions.
    reset = admin.post_form(f"/admin/users/{world.rep.id}/password-reset", headers=EN)
    assert "Any session Rep had open has been signed out." in reset.get_data(as_text=True)
