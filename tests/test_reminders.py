"""Reminder sweeps: each rule's boundaries, idempotency, time zones, constant statements."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from crm.accounts.models import Team, User
from crm.birthdays import falls_within
from crm.clock import utcnow
from crm.customers.models import Contact, Customer, OwnershipChange, OwnershipEvent
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUp, FollowUpKind, Revisit
from crm.notifications.models import Notification
from crm.pipeline.models import Deal, Stage
from crm.reminders import sweeps
from crm.reminders.models import Task
from tests.conftest import count_queries

SHANGHAI = "Asia/Shanghai"


def _at(text: str) -> datetime:
    """A UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _notes(kind: str | None = None, user_id: int | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    if user_id:
        query = query.where(Notification.user_id == user_id)
    return list(db.session.scalars(query))


def _follow_up(customer_id, author_id, next_date, occurred_at=None, kind=FollowUpKind.VISIT):
    follow_up = log_follow_up(db.session.get(Customer, customer_id),
                              db.session.get(User, author_id), kind=kind,
                              occurred_at=occurred_at or utcnow() - timedelta(days=40),
                              summary="拜访", next_date=next_date)
    db.session.flush()
    return follow_up


def _clear():
    db.session.execute(Notification.__table__.delete())


def test_run_all_on_the_world_twice_makes_nothing_new(app, world):
    with app.app_context():
        first = sweeps.run_all()
        second = sweeps.run_all()
        assert sum(v for k, v in second.items() if k != "fulfil_revisits") == 0, (first, second)


def _local_today(zone=SHANGHAI, now=None):
    from zoneinfo import ZoneInfo
    return (now or utcnow()).astimezone(ZoneInfo(zone)).date()


def test_follow_up_ladder_due_then_overdue_then_the_manager(app, world):
    with app.app_context():
        _clear()
        today = _local_today()
        fu = _follow_up(world.customers.rep2, world.rep2.id, today)
        assert sweeps.follow_ups_due(sweeps.calendar()) == 1
        [due] = _notes("followup_due")
        assert due.user_id == world.rep2.id and due.link == f"/customers/{world.customers.rep2}"
        # Not yet overdue: one day late is still "due" (default: overdue after 2 days).
        fu.next_date = today - timedelta(days=1)
        db.session.flush()
        assert sweeps.follow_ups_due(sweeps.calendar()) == 1  # its own date: a new plan
        fu.next_date = today - timedelta(days=2)
        db.session.flush()
        sweeps.follow_ups_due(sweeps.calendar())
        assert [n.user_id for n in _notes("followup_overdue")] == [world.rep2.id]
        assert not _notes("followup_escalated")
        fu.next_date = today - timedelta(days=5)
        db.session.flush()
        sweeps.follow_ups_due(sweeps.calendar())
        assert [n.user_id for n in _notes("followup_escalated")] == [world.manager.id]
        # Every run after that adds nothing: a ladder, not a daily repeat.
        assert sweeps.follow_ups_due(sweeps.calendar()) == 0


def test_a_later_follow_up_supersedes_the_plan(app, world):
    with app.app_context():
        _clear()
        today = _local_today()
        _follow_up(world.customers.rep2, world.rep2.id, today,
                   occurred_at=utcnow() - timedelta(days=3))
        _follow_up(world.customers.rep2, world.rep2.id, None,
                   occurred_at=utcnow() - timedelta(days=1))
        assert sweeps.follow_ups_due(sweeps.calendar()) == 0


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_each_person_is_reminded_on_their_own_day(app, world, zone):
    """23:30 UTC on 1 March is 07:30 on 2 March in Shanghai and 00:30 on 2 March in Berlin;
    22:30 UTC is 06:30 on 2 March in Shanghai but still 23:30 on 1 March in Berlin."""
    with app.app_context():
        _clear()
        db.session.execute(update(User).where(User.id == world.rep2.id).values(timezone=zone))
        db.session.add(FollowUp(customer_id=world.customers.rep2, author_id=world.rep2.id,
                                kind=FollowUpKind.CALL, occurred_at=_at("2027-02-20 10:00"),
                                summary="电话", next_date=date(2027, 3, 2)))
        db.session.flush()
        before = sweeps.follow_ups_due(sweeps.calendar(_at("2027-03-01 22:30")))
        assert before == (1 if zone == "Asia/Shanghai" else 0)
        sweeps.follow_ups_due(sweeps.calendar(_at("2027-03-01 23:30")))
        assert len(_notes("followup_due", world.rep2.id)) == 1


def test_the_statement_count_does_not_grow_with_the_rows(app, world):
    def sweep_statements() -> int:
        with count_queries(app) as counter, app.app_context():
            sweeps.run_all()
            db.session.commit()
        return counter.count

    with app.app_context():
        _clear()
    few = sweep_statements()
    with app.app_context():
        today = _local_today()
        customers = [Customer(name=f"批量{n}", owner_id=world.rep2.id,
                              birthday=date(1980, today.month, min(today.day, 28)))
                     for n in range(1000)]
        db.session.add_all(customers)
        db.session.flush()
        db.session.execute(FollowUp.__table__.insert(), [
            {"customer_id": c.id, "author_id": world.rep2.id, "kind": "visit",
             "occurred_at": datetime(2026, 1, 1, tzinfo=UTC), "summary": "x", "next_date": today,
             "created_at": datetime(2026, 1, 1, tzinfo=UTC), "version": 1} for c in customers])
        db.session.add_all([Task(title=f"任务{n}", assignee_id=world.rep2.id,
                                 created_by_id=world.manager.id, due_on=today)
                            for n in range(1000)])
        db.session.commit()
    many = sweep_statements()
    assert many == few
    with app.app_context():
        assert len(_notes("followup_due")) >= 1000 and len(_notes("task_due")) == 1000


def test_revisits_are_planned_from_a_won_deal_and_fulfilled_by_a_revisit(app, world):
    with app.app_context():
        _clear()
        won_at = utcnow() - timedelta(days=7)
        db.session.execute(update(Deal).where(Deal.id == world.deal)
                           .values(stage=Stage.WON, closed_at=won_at))
        cal = sweeps.calendar()
        assert sweeps.plan_revisits(cal) == 2  # day 7 now, day 30 within the month ahead
        assert sweeps.plan_revisits(cal) == 0
        sweeps.revisits_due(cal)
        [due] = _notes("revisit_due")
        assert due.user_id == world.rep.id
        _follow_up(world.customers.rep, world.rep.id, None, occurred_at=utcnow(),
                   kind=FollowUpKind.REVISIT)
        assert sweeps.fulfil_revisits(cal) >= 1
        first = db.session.scalar(select(Revisit).order_by(Revisit.due_on))
        assert first.done_follow_up_id is not None


def test_birthdays_solar_and_lunar_within_the_window(app, world):
    with app.app_context():
        _clear()
        today = _local_today()
        in_two = today + timedelta(days=2)
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep)
                           .values(birthday=in_two.replace(year=1985)))
        # A contact whose lunar birthday falls tomorrow: find a date of birth that does.
        tomorrow = today + timedelta(days=1)
        lunar_born = next(born for born, lunar, on in sweeps.birthday_candidates(tomorrow, 1)
                          if lunar and born.year == 1990)
        assert falls_within(lunar_born, True, today, 3) == tomorrow
        db.session.execute(update(Contact).where(Contact.id == world.contact)
                           .values(birthday=lunar_born, birthday_lunar=True))
        # Out of the window (3 days): the fourth day.
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep2)
                           .values(birthday=(today + timedelta(days=3)).replace(year=1985)))
        assert sweeps.birthdays(sweeps.calendar()) == 2
        assert {n.user_id for n in _notes("birthday")} == {world.rep.id}
        assert sweeps.birthdays(sweeps.calendar()) == 0


def test_today_lists_the_same_birthdays_as_the_sweep_in_the_order_they_fall(app, world,
                                                                             make_customer):
    from crm.reminders.agenda import birthdays_soon

    with app.app_context():
        today = _local_today()
        tomorrow = today + timedelta(days=1)
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep)
                           .values(birthday=(today + timedelta(days=2)).replace(year=1985)))
        lunar_born = next(born for born, lunar, on in sweeps.birthday_candidates(tomorrow, 1)
                          if lunar and born.year == 1990)
        db.session.execute(update(Contact).where(Contact.id == world.contact)
                           .values(birthday=lunar_born, birthday_lunar=True))
        db.session.commit()
    # The fourth day is outside the 3-day window; another rep's customer is not mine.
    make_customer(world.rep, name="周八", birthday=(today + timedelta(days=3)).replace(year=1985))
    with app.app_context():
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep2)
                           .values(birthday=tomorrow.replace(year=1985)))
        rep = db.session.get(User, world.rep.id)
        with count_queries(app) as statements:
            soon = birthdays_soon(rep, today, 3)
        assert [(on, customer_id, lunar) for on, _name, customer_id, _c, lunar in soon] == [
            (tomorrow, world.customers.rep, True),
            (today + timedelta(days=2), world.customers.rep, False)]
        assert statements.count == 1
        assert birthdays_soon(rep, today, 3, limit=1) == soon[:1]


def test_candidates_agree_with_the_birthday_rules():
    first = date(2027, 1, 25)
    rows = sweeps.birthday_candidates(first, 20, earliest_year=1950)
    for born, lunar, on in rows[::37]:
        assert falls_within(born, lunar, first, 20) == on


def test_protection_warning_and_return_to_the_pool(app, world):
    with app.app_context():
        _clear()
        now = utcnow()
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep2)
                           .values(protected_until=now + timedelta(days=2)))
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep)
                           .values(protected_until=now + timedelta(days=4)))
        assert sweeps.protection_ending(sweeps.calendar()) == 1
        db.session.add(OwnershipEvent(customer_id=world.customers.rep2,
                                      kind=OwnershipChange.EXPIRY,
                                      from_user_id=world.rep2.id))
        db.session.flush()
        assert sweeps.pool_returns(sweeps.calendar()) == 2
        assert {n.user_id for n in _notes("pool_returned")} == {world.rep2.id,
                                                               world.manager.id}


def test_a_drought_once_per_episode(app, world):
    with app.app_context():
        _clear()
        db.session.execute(update(Team).values(created_at=utcnow() - timedelta(days=10)))
        db.session.execute(update(Deal).values(created_at=utcnow() - timedelta(days=10)))
        from crm.pipeline.models import DealEvent
        db.session.execute(update(DealEvent).values(at=utcnow() - timedelta(days=10)))
        made = sweeps.a_drought(sweeps.calendar())
        assert made > 0
        sh1 = {n.user_id for n in _notes("a_drought")
               if n.params["team_id"] == world.teams.sh1}
        assert sh1 == {world.manager.id, world.region_manager.id}
        assert sweeps.a_drought(sweeps.calendar()) == 0
        # Three days later: the next episode (every N more days), once again.
        later = sweeps.calendar(utcnow() + timedelta(days=3))
        assert sweeps.a_drought(later) == made
        assert sweeps.a_drought(later) == 0


def test_a_drought_counts_the_teams_calendar_days(app, world):
    """The team's zone (Team.timezone) decides the days: a last A one minute before the
    team's midnight is one day dry just after it, however far that is in hours."""
    from crm.clock import team_zone
    from crm.pipeline.models import DealEvent

    with app.app_context():
        for zone_name in ("Pacific/Kiritimati", "America/Los_Angeles"):
            _clear()
            team = db.session.get(Team, world.teams.sh1)
            team.timezone, team.drought_days = zone_name, 1
            local_now = utcnow().astimezone(team_zone(team))
            midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
            last_a = (midnight - timedelta(minutes=1)).astimezone(UTC)
            db.session.execute(update(Team).values(created_at=last_a))
            db.session.execute(update(Deal).values(created_at=last_a))
            db.session.execute(update(DealEvent).values(at=last_a))
            db.session.flush()
            sweeps.a_drought(sweeps.calendar())
            alerted = {n.params["team_id"] for n in _notes("a_drought")}
            assert world.teams.sh1 in alerted, zone_name
            # The same last A counted in a zone where it is still that day: no drought yet.
            _clear()
            team.timezone = "Etc/GMT+12" if zone_name == "Pacific/Kiritimati" else "UTC"
            db.session.flush()
            if utcnow().astimezone(team_zone(team)).date() == \
                    last_a.astimezone(team_zone(team)).date():
                sweeps.a_drought(sweeps.calendar())
                assert world.teams.sh1 not in {n.params["team_id"]
                                               for n in _notes("a_drought")}
        db.session.rollback()


def test_tasks_escalate_to_whoever_assigned_them(app, world):
    with app.app_context():
        _clear()
        today = _local_today()
        db.session.add(Task(title="回电", assignee_id=world.rep.id,
                            created_by_id=world.manager.id, due_on=today - timedelta(days=5)))
        db.session.add(Task(title="自己的", assignee_id=world.rep2.id,
                            created_by_id=world.rep2.id, due_on=today - timedelta(days=5)))
        db.session.flush()
        sweeps.tasks_due(sweeps.calendar())
        assert {n.user_id for n in _notes("task_escalated")} == {world.manager.id}
        assert sweeps.tasks_due(sweeps.calendar()) == 0


# The notification centre, the navigation's count and Today --------------------------------

def test_the_centre_lists_filters_and_marks_read(app, world, login_as):
    with app.app_context():
        _clear()
        _follow_up(world.customers.rep2, world.rep2.id, _local_today())
        sweeps.run_all()
        db.session.commit()
    rep = login_as("rep2")
    page = rep.get("/notifications").get_data(as_text=True)
    assert "李四" in page and 'data-unread' in page
    [note] = [n for n in _notes_of(app, world.rep2.id) if n.kind == "followup_due"]
    assert rep.get("/notifications?kind=birthday").get_data(as_text=True).count(
        "notification-open") == 0
    assert rep.get("/notifications?kind=nonsense&after=%%%").status_code == 200
    opened = rep.post_form(f"/notifications/{note.id}/open")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(
        f"/customers/{world.customers.rep2}")
    assert rep.post_form("/notifications/read-all").status_code == 303
    assert 'data-unread' not in rep.get("/notifications").get_data(as_text=True)
    # Someone else's notification is not there at all.
    assert login_as("rep").post_form(f"/notifications/{note.id}/open").status_code == 404


def _notes_of(app, user_id):
    with app.app_context():
        return _notes(user_id=user_id)


def test_the_centre_page_does_not_grow_with_notifications(app, world, login_as):
    rep = login_as("rep")

    def statements():
        with count_queries(app) as counter:
            assert rep.get("/notifications").status_code == 200
        return counter.count

    few = statements()
    with app.app_context():
        for n in range(25):
            db.session.add(Notification(user_id=world.rep.id, kind="birthday",
                                        dedupe_key=f"b:{n}", customer_id=world.customers.rep,
                                        link="/", params={"on": "2027-01-01"}))
            db.session.add(Notification(user_id=world.rep.id, kind="task_due",
                                        dedupe_key=f"t:{n}", link="/", params={"subject": n}))
        db.session.commit()
    assert statements() <= few + 3  # names of customers, contacts, tasks: once each


def test_today_lists_tasks_revisits_and_birthdays(app, world, login_as):
    with app.app_context():
        today = _local_today()
        db.session.add(Task(title="带合同去", assignee_id=world.rep.id,
                            created_by_id=world.manager.id, due_on=today))
        db.session.add(Revisit(customer_id=world.customers.rep, reason="won_deal",
                               due_on=today - timedelta(days=1), plan_key="t:1"))
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep)
                           .values(birthday=(today + timedelta(days=1)).replace(year=1980)))
        db.session.commit()
    page = login_as("rep").get("/").get_data(as_text=True)
    assert 'id="tasks-due"' in page and "带合同去" in page
    assert 'id="revisits-due"' in page and 'id="birthdays"' in page


def test_a_missed_revisit_escalates_to_the_manager(app, world):
    with app.app_context():
        _clear()
        db.session.add(Revisit(customer_id=world.customers.rep2, reason="won_deal",
                               due_on=_local_today() - timedelta(days=5), plan_key="t:miss"))
        db.session.flush()
        sweeps.revisits_due(sweeps.calendar())
        assert [n.user_id for n in _notes("revisit_escalated")] == [world.manager.id]


def test_tasks_snooze_complete_and_refuse_strangers(app, world, login_as):
    manager = login_as("manager")
    today = _local_today().isoformat()
    refused = manager.post_form("/tasks", {"title": "越权", "due_on": today,
                                           "assignee_id": str(world.rep3.id)})
    assert refused.status_code == 422 and "越权" in refused.get_data(as_text=True)
    made = manager.post_form("/tasks", {"title": "回访张三", "due_on": today,
                                        "assignee_id": str(world.rep.id),
                                        "customer_id": str(world.customers.rep)})
    assert made.status_code == 303
    task_id = int(made.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        [assigned] = _notes("task_assigned", world.rep.id)
        assert assigned.link == f"/tasks/{task_id}"
    rep = login_as("rep")
    assert rep.post_form(f"/tasks/{task_id}/snooze", {"days": "3"}).status_code == 303
    assert rep.post_form(f"/tasks/{task_id}/snooze", {"days": "5"}).status_code == 422
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.due_on == _local_today() + timedelta(days=3) and task.snoozed_times == 1
    assert rep.post_form(f"/tasks/{task_id}/done").status_code == 303
    with app.app_context():
        assert db.session.get(Task, task_id).done_at is not None
    # A rep gives tasks to nobody else: only "Me" is offered.
    page = rep.get("/tasks/new").get_data(as_text=True)
    assert 'id="assignee_id"' not in page


def test_a_contacts_lunar_birthday_is_kept_from_the_form(app, world, login_as):
    rep = login_as("rep")
    response = rep.post_form(f"/customers/{world.customers.rep}/contacts/{world.contact}", {
        "name": "陈经理", "phone": "13512340000", "birthday": "1990-05-20",
        "birthday_lunar": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    with app.app_context():
        contact = db.session.get(Contact, world.contact)
        assert contact.birthday == date(1990, 5, 20) and contact.birthday_lunar is True


def test_every_kind_reads_in_the_centre_in_both_languages(app, world, login_as):
    """One of each kind, from every area that notifies: the centre shows its label and a
    sentence from its params (never the bare kind), in Chinese and English, and opening it
    goes to its link; once read, the row is a plain link there."""
    from crm.notifications.inbox import notify
    from crm.notifications.models import NOTIFICATION_LABELS, NotificationKind

    today = date.today().isoformat()
    params = {"due": today, "person": "王五", "on": today, "until": today, "count": 2,
              "oldest": today, "text": "开场白", "team": "上海一组", "days": 4, "title": "送样品",
              "subject": 0, "kind": "complaint", "name": "钱八"}
    links = {}
    with app.app_context():
        _clear()
        for n, kind in enumerate(NotificationKind):
            link = f"/customers/{world.customers.rep}?n={n}"
            notify(world.manager.id, kind, dedupe_key=f"every:{kind.value}", link=link,
                   customer_id=world.customers.rep, params=params)
            links[kind] = link
        db.session.commit()
        ids = dict(db.session.execute(select(Notification.kind, Notification.id).where(
            Notification.user_id == world.manager.id)).all())
    assert set(NOTIFICATION_LABELS) == set(NotificationKind)
    manager = login_as("manager")
    for language in ("zh-CN", "en"):
        page = manager.get("/notifications", headers={"Accept-Language": language})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        for kind in NotificationKind:
            assert f'/notifications/{ids[kind.value]}/open"' in html, kind
            assert f">{kind.value}<" not in html and f"{kind.value} ·" not in html, kind
    english = manager.get("/notifications?kind=report_ready",
                          headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "A team report is ready" in english and "report is ready to read" in english
    chinese = manager.get("/notifications?kind=lead_unrouted",
                          headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "上海一组" in chinese and "new lead" not in chinese
    for kind in NotificationKind:
        opened = manager.post_form(f"/notifications/{ids[kind.value]}/open", {})
        assert opened.status_code == 303 and opened.headers["Location"] == links[kind], kind
    read = manager.get("/notifications", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    for kind in NotificationKind:
        assert f'href="{links[kind]}"'.replace("&", "&amp;") in read or \
            f'href="{links[kind]}"' in read, kind
