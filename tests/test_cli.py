"""Command-line tools and the demo data."""

from sqlalchemy import select

from crm.accounts.models import Role, User
from crm.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from crm.extensions import db


def test_seed_demo_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "Demo data created." in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "already present" in second.output
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        by_email = {u.email: u for u in users}
        assert sum(u.role == Role.REP for u in users) >= 12
        for email, _name, role, _team in DEMO_ACCOUNTS:
            assert by_email[email].role == role
        manager, rep, rep2, rep3, manager2 = (by_email[e] for e in (
            "manager@demo.local", "rep@demo.local", "rep2@demo.local", "rep3@demo.local",
            "manager2@demo.local"))
        assert rep.team_id == rep2.team_id == manager.team_id
        assert rep3.team_id == manager2.team_id != manager.team_id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rep.name)  # the demo speaks Chinese


def test_demo_password_signs_in(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    assert client.login("rep@demo.local", DEMO_PASSWORD).status_code == 303


def test_create_user_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "Boss@Example.test", "--name", "Boss",
                                 "--role", "admin", "--password", "amber-gate-71"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "boss@example.test")).one()
        assert user.role == Role.ADMIN


def test_create_user_command_refuses_bad_input(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "r@example.test", "--name", "R",
                                 "--role", "rep", "--password", "long-enough-1"])
    assert result.exit_code != 0 and "团队" in result.output
    result = runner.invoke(args=["create-user", "--email", "a@example.test", "--name", "A",
                                 "--role", "admin", "--password", "short"])
    assert result.exit_code != 0 and "10" in result.output
