"""The shared machinery: notifications and revisits once per key, birthdays on both calendars."""

from datetime import date

import pytest
from sqlalchemy import String, cast, func, literal, select

from crm.accounts.models import User
from crm.birthdays import falls_within, next_birthday
from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import Revisit
from crm.followups.revisits import plan_revisit
from crm.notifications.inbox import notify, notify_from
from crm.notifications.models import Notification, NotificationKind


def _count(model, **where):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_notify_twice_with_one_key_notifies_once(app, world):
    with app.app_context():
        kind = NotificationKind.REVIEW_FINISHED
        assert notify(world.rep.id, kind, dedupe_key="t:1", link="/", params={"n": 2}) is True
        assert notify(world.rep.id, kind, dedupe_key="t:1", link="/") is False
        assert _count(Notification, dedupe_key="t:1") == 1
        note = db.session.scalar(select(Notification).filter_by(dedupe_key="t:1"))
        assert note.params == {"n": 2} and note.user_id == world.rep.id


def test_notify_from_a_select_skips_known_keys(app, world):
    with app.app_context():
        people = (select(User.id, literal(NotificationKind.REVIEW_REPLY.value),
                         literal("t:all:") + cast(User.id, String),
                         literal(utcnow()))
                  .where(User.team_id == world.teams.sh1))
        columns = ["user_id", "kind", "dedupe_key", "created_at"]
        first = notify_from(people, columns)
        assert first >= 3
        assert notify_from(people, columns) == 0


def test_a_revisit_is_planned_once_per_key(app, world):
    with app.app_context():
        assert plan_revisit(world.customers.rep, date(2027, 1, 9), reason="won_deal",
                            plan_key="won:1:7") is True
        assert plan_revisit(world.customers.rep, date(2027, 1, 9), reason="won_deal",
                            plan_key="won:1:7") is False
        assert _count(Revisit, plan_key="won:1:7") == 1


@pytest.mark.parametrize("birthday, lunar, today, expected", [
    (date(1990, 5, 20), False, date(2026, 12, 2), date(2027, 5, 20)),
    (date(1990, 5, 20), False, date(2026, 5, 20), date(2026, 5, 20)),
    (date(1992, 2, 29), False, date(2027, 1, 1), date(2027, 2, 28)),
    # Born 1990-05-20 = lunar 四月廿六; in 2026 that is 11 June, in 2027 31 May.
    (date(1990, 5, 20), True, date(2026, 6, 1), date(2026, 6, 11)),
    (date(1990, 5, 20), True, date(2026, 6, 12), date(2027, 5, 31)),
    # Lunar new year's eve of a 30-day twelfth month; 2026's twelfth month has 29 days.
    (date(1990, 1, 26), True, date(2027, 1, 1), date(2027, 2, 5)),
])
def test_next_birthday(birthday, lunar, today, expected):
    assert next_birthday(birthday, lunar, today) == expected


def test_falls_within_a_window():
    assert falls_within(date(1990, 12, 5), False, date(2026, 12, 2), 3) is None
    assert falls_within(date(1990, 12, 4), False, date(2026, 12, 2), 3) == date(2026, 12, 4)
