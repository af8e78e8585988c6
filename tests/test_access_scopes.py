"""crm.access: what each role sees of teams and colleagues."""

from sqlalchemy import select

from crm import access
from crm.accounts.models import User
from crm.extensions import db


def _scope(app, who, query_for):
    with app.app_context():
        user = db.session.get(User, who.id)
        return query_for(user)


def _team_ids(app, who):
    def run(user):
        return set(db.session.scalars(access.teams_scope(user).with_only_columns(
            access.Team.id)))
    return _scope(app, who, run)


def _user_ids(app, who):
    return _scope(app, who, lambda user: {u.id for u in db.session.scalars(
        access.users_scope(user))})


def test_manager_sees_their_team_and_everything_below(app, world):
    t = world.teams
    assert _team_ids(app, world.region_manager) == {t.east, t.sh1, t.hz}
    assert _team_ids(app, world.manager) == {t.sh1}
    assert _team_ids(app, world.manager2) == {t.sz}


def test_rep_sees_own_team_only(app, world):
    assert _team_ids(app, world.rep) == {world.teams.sh1}
    assert _user_ids(app, world.rep) == {world.manager.id, world.rep.id, world.rep2.id}


def test_office_and_admin_see_every_team(app, world):
    with app.app_context():
        every = set(db.session.scalars(select(access.Team.id)))
    assert _team_ids(app, world.office) == every
    assert _team_ids(app, world.admin) == every


def test_region_manager_sees_people_of_subteams_not_other_regions(app, world):
    seen = _user_ids(app, world.region_manager)
    assert {world.rep.id, world.hz_rep.id, world.manager.id} <= seen
    assert world.rep3.id not in seen and world.manager2.id not in seen


def test_manages(app, world):
    with app.app_context():
        def user(who):
            return db.session.get(User, who.id)

        assert access.manages(user(world.region_manager), user(world.rep))
        assert access.manages(user(world.manager), user(world.rep2))
        assert not access.manages(user(world.manager), user(world.hz_rep))
        assert not access.manages(user(world.manager2), user(world.rep))
        assert not access.manages(user(world.rep), user(world.rep2))
