"""The public pool: claim (once, under the limit), release with a reason, expiry, transfers
and the handover of a leaving rep's customers."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crm.accounts.models import Team, User
from crm.audit.models import AuditAction, AuditEvent
from crm.clock import utcnow
from crm.customers.jobs import expire_pool
from crm.customers.models import Customer, OwnershipChange, OwnershipEvent
from crm.extensions import db
from crm.queue import enqueue_after_commit, make_worker

EN = {"Accept-Language": "en"}


def _customer(app, customer_id):
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        db.session.expunge(customer)
        return customer


def _events(app, customer_id, kind):
    with app.app_context():
        return db.session.scalars(select(OwnershipEvent).where(
            OwnershipEvent.customer_id == customer_id, OwnershipEvent.kind == kind)).all()


def test_claim_protects_for_the_teams_days(app, world, login_as):
    with app.app_context():
        db.session.get(Team, world.teams.sh1).protection_days = 10
        db.session.commit()
    response = login_as("rep").post_form(f"/customers/{world.customers.pool}/claim")
    assert response.status_code == 303
    customer = _customer(app, world.customers.pool)
    assert customer.owner_id == world.rep.id
    left = customer.protected_until - utcnow()
    assert timedelta(days=9, hours=23) < left <= timedelta(days=10)
    assert len(_events(app, world.customers.pool, OwnershipChange.CLAIM)) == 1


def test_holding_limit(app, world, login_as):
    with app.app_context():
        db.session.get(Team, world.teams.sh1).holding_limit = 1  # rep already holds one
        db.session.commit()
    rep = login_as("rep")
    response = rep.post_form(f"/customers/{world.customers.pool}/claim", headers=EN)
    assert response.status_code == 303
    page = rep.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "your team&#39;s limit" in page or "your team's limit" in page
    assert _customer(app, world.customers.pool).owner_id is None


def test_claiming_an_owned_customer_is_refused(app, world, login_as):
    rep = login_as("rep")
    rep.post_form(f"/customers/{world.customers.pool}/claim")
    manager = login_as("manager")
    manager.post_form(f"/customers/{world.customers.pool}/claim")
    assert _customer(app, world.customers.pool).owner_id == world.rep.id


@pytest.mark.committed  # two threads, two connections: a real race on committed rows
def test_two_reps_claiming_at_the_same_moment_one_wins(app, world, login_as):
    clients = {"rep": login_as("rep"), "rep2": login_as("rep2")}
    url = f"/customers/{world.customers.pool}/claim"
    tokens = {name: client.csrf_token() for name, client in clients.items()}
    start = threading.Barrier(len(clients))
    outcomes = {}

    def claim(name):
        client = clients[name]
        start.wait()
        response = client.post(url, data={"csrf_token": tokens[name]}, headers=EN)
        page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
        outcomes[name] = page

    threads = [threading.Thread(target=claim, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    owner = _customer(app, world.customers.pool).owner_id
    assert owner in (world.rep.id, world.rep2.id)
    winner = "rep" if owner == world.rep.id else "rep2"
    loser = "rep2" if winner == "rep" else "rep"
    assert "is yours now" in outcomes[winner]
    assert "Someone else claimed this customer a moment ago." in outcomes[loser]
    assert len(_events(app, world.customers.pool, OwnershipChange.CLAIM)) == 1


def test_release_needs_a_reason(app, world, login_as):
    rep = login_as("rep")
    url = f"/customers/{world.customers.rep}/release"
    rep.post_form(url, {"reason": "  "})
    assert _customer(app, world.customers.rep).owner_id == world.rep.id
    assert rep.post_form(url, {"reason": "客户已搬迁"}).status_code == 303
    assert _customer(app, world.customers.rep).owner_id is None
    [event] = _events(app, world.customers.rep, OwnershipChange.RELEASE)
    assert event.reason == "客户已搬迁" and event.from_user_id == world.rep.id
    card = rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "客户已搬迁" in card  # on the timeline


def _expire(app, customer_ids, days_ago=1):
    with app.app_context():
        db.session.execute(update(Customer).where(Customer.id.in_(customer_ids))
                           .values(protected_until=utcnow() - timedelta(days=days_ago)))
        db.session.commit()


def test_expiry_returns_customers_to_the_pool_in_one_sweep(app, world):
    _expire(app, [world.customers.rep, world.customers.rep3])
    with app.app_context():
        # A won deal leaves protected_until empty: never expired.
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep2)
                           .values(protected_until=None))
        db.session.commit()
        assert expire_pool() == 2
        assert expire_pool() == 0  # safe to run twice
    assert _customer(app, world.customers.rep).owner_id is None
    assert _customer(app, world.customers.rep3).owner_id is None
    assert _customer(app, world.customers.rep2).owner_id == world.rep2.id
    assert _customer(app, world.customers.hz).owner_id == world.hz_rep.id
    [event] = _events(app, world.customers.rep, OwnershipChange.EXPIRY)
    assert event.from_user_id == world.rep.id


def test_expiry_is_one_set_based_statement_per_step(app, world, make_customer):
    ids = [make_customer(world.rep, name=f"到期{n}") for n in range(30)]
    _expire(app, ids)
    from tests.conftest import count_queries

    with count_queries(app) as counted, app.app_context():
        assert expire_pool() == 30
    writes = [s for s in counted.statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert len(writes) == 2  # one UPDATE of customers, one (executemany) INSERT of events


def test_expiry_from_the_cli_and_the_worker(app, world):
    _expire(app, [world.customers.rep])
    result = app.test_cli_runner().invoke(args=["pool", "expire"])
    assert result.exit_code == 0 and "1" in result.output
    _expire(app, [world.customers.rep2])
    with app.app_context():
        enqueue_after_commit("crm.customers.jobs.expire_pool")
        db.session.commit()
    make_worker(app, simple=True).work(burst=True)
    assert _customer(app, world.customers.rep2).owner_id is None


def test_manager_transfers_between_their_reps(app, world, login_as):
    manager = login_as("manager")
    response = manager.post_form("/customers/transfer", {
        "customer_ids": [str(world.customers.rep)], "to_user_id": str(world.rep2.id),
        "reason": "调整区域"})
    assert response.status_code == 303
    assert _customer(app, world.customers.rep).owner_id == world.rep2.id
    [event] = _events(app, world.customers.rep, OwnershipChange.TRANSFER)
    assert (event.from_user_id, event.to_user_id, event.by_user_id) == (
        world.rep.id, world.rep2.id, world.manager.id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.TRANSFER)) == 1
    card = login_as("rep2").get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "调整区域" in card


def test_transfer_of_many_at_once(app, world, login_as, make_customer):
    extra = [make_customer(world.rep, name=f"批{n}") for n in range(3)]
    manager = login_as("manager")
    manager.post_form("/customers/transfer", {
        "customer_ids": [str(i) for i in [world.customers.rep, *extra]],
        "to_user_id": str(world.rep2.id)})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer).where(
            Customer.owner_id == world.rep2.id)) == 5


def test_transfer_refuses_customers_or_receivers_out_of_reach(app, world, login_as):
    manager = login_as("manager")
    other_team_customer = manager.post_form("/customers/transfer", {
        "customer_ids": [str(world.customers.rep3)], "to_user_id": str(world.rep2.id)})
    assert other_team_customer.status_code == 404
    other_team_receiver = manager.post_form("/customers/transfer", {
        "customer_ids": [str(world.customers.rep)], "to_user_id": str(world.rep3.id)})
    assert other_team_receiver.status_code == 404
    assert _customer(app, world.customers.rep).owner_id == world.rep.id


def test_deactivating_a_rep_hands_everything_over(app, world, login_as, make_customer):
    make_customer(world.rep, name="另一个")
    admin = login_as("admin")
    response = admin.post_form(f"/admin/users/{world.rep.id}/deactivate",
                               {"handover_to": str(world.rep2.id)})
    assert response.status_code == 303
    with app.app_context():
        assert not db.session.get(User, world.rep.id).active
        owners = set(db.session.scalars(select(Customer.owner_id).where(
            Customer.name.in_(["张三", "另一个"]))))
        assert owners == {world.rep2.id}
    assert len(_events(app, world.customers.rep, OwnershipChange.HANDOVER)) == 1


def test_deactivating_to_the_pool(app, world, login_as):
    login_as("admin").post_form(f"/admin/users/{world.rep3.id}/deactivate", {"handover_to": ""})
    assert _customer(app, world.customers.rep3).owner_id is None


def test_losing_a_claim_after_the_card_changed_hands_says_so(app, world, login_as):
    # rep opened the pool card; rep2 claimed it first; rep's click must not end in a 404.
    rep = login_as("rep")
    assert rep.get(f"/customers/{world.customers.pool}").status_code == 200
    login_as("rep2").post_form(f"/customers/{world.customers.pool}/claim")
    response = rep.post_form(f"/customers/{world.customers.pool}/claim", headers=EN)
    assert response.status_code == 303
    assert response.headers["Location"] == "/customers?tab=pool"
    page = rep.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Someone else claimed this customer a moment ago." in page
    assert _customer(app, world.customers.pool).owner_id == world.rep2.id


def test_claiming_a_customer_that_does_not_exist_is_404(world, login_as):
    assert login_as("rep").post_form("/customers/999999/claim").status_code == 404
