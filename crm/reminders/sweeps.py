"""The reminder sweeps: each rule is one `INSERT … SELECT` (or two), never a loop over rows.

Every notification's dedupe key is "<kind>:<subject>:<recipient>:<local date or episode>",
unique in the table, so running a sweep twice, or two workers at once, notifies once; and a
sweep derives everything from the database, so a missed run is caught up by the next one
(up to CATCH_UP_DAYS back).

People get their reminders on their own calendar day: `Calendar` holds, for every time
zone the users have, that zone's date and wall clock now, as a small VALUES table the
statements join on the recipient's zone. Team-wide alerts (the A-grade drought) count days
in the team's zone (Team.timezone, the one the dashboard and goals count in), so the table
holds the teams' zones too.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    String,
    and_,
    column,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
    values,
)
from sqlalchemy.orm import aliased

from crm.accounts.models import TEAM_DEFAULTS, Role, Team, User
from crm.birthdays import next_birthday
from crm.clock import utcnow
from crm.columns import UTCDateTime
from crm.customers.models import Contact, Customer, OwnershipChange, OwnershipEvent
from crm.extensions import db
from crm.followups.logging import still_the_plan
from crm.followups.models import FollowUp, FollowUpKind, Revisit
from crm.notifications.inbox import notify_from
from crm.notifications.models import Notification
from crm.notifications.models import NotificationKind as K
from crm.pipeline.models import Deal, DealChange, DealEvent, Grade, Stage
from crm.recordings.models import Recording, RecordingStatus
from crm.reminders.models import Delivery, DeliveryStatus, Task
from crm.reminders.sqltime import (
    add_days,
    add_days_ts,
    date_of,
    json_object,
    text_of,
    whole_days_between,
)
from crm.reviews.models import ImprovementAction, Review
from crm.sql import insert_or_ignore

# A sweep that did not run for a while catches up this far back, and no further.
CATCH_UP_DAYS = 30
# Revisits are planned this far ahead of their date.
PLAN_AHEAD_DAYS = 31
# A revisit follow-up made up to this many days before a revisit's date fulfils it.
REVISIT_EARLY_DAYS = 7
# Repeated revisits ("then every 180 days") are planned this many times after the last.
REVISIT_REPEATS = 20
# A manager's morning count of recordings waiting: not before this local time.
MORNING_MINUTE = 6 * 60

COLUMNS = ["user_id", "kind", "dedupe_key", "created_at", "link", "params", "customer_id"]
# Team alerts that also go to the team's work chat, when it has one.
CHAT_KINDS = ("a_drought", "followup_escalated", "revisit_escalated", "task_escalated",
              "reviews_waiting")


@dataclass
class Calendar:
    now: datetime
    zones: object  # VALUES (zone, today, clock, minute, weekday, midnight)
    default_zone: str
    first_day: date
    last_day: date
    # The earliest date a ladder still acts on: the widest escalation plus the catch-up.
    oldest_due: date


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def calendar(now: datetime | None = None) -> Calendar:
    """Each zone the users and teams have, with its date and wall clock at `now` (three
    queries)."""
    now = now or utcnow()
    default = current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Shanghai"
    names = (set(db.session.scalars(select(User.timezone).distinct()))
             | set(db.session.scalars(select(Team.timezone).distinct())) | {default})
    rows = []
    for name in sorted(n for n in names if n):
        local = now.astimezone(_zone(name, default))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        rows.append((name, local.date(), local.strftime("%H:%M:%S"),
                     local.hour * 60 + local.minute, local.isoweekday(),
                     midnight.astimezone(UTC)))
    zones = values(column("zone", String), column("today", Date), column("clock", String),
                   column("minute", Integer), column("weekday", Integer),
                   column("midnight", UTCDateTime), name="zones").data(rows).cte("zones")
    days = [row[1] for row in rows]
    widest = max(TEAM_DEFAULTS.followup_escalate_days,
                 db.session.scalar(select(func.max(Team.followup_escalate_days))) or 0)
    oldest = min(days) - timedelta(days=widest + CATCH_UP_DAYS)
    return Calendar(now, zones, default, min(days), max(days), oldest)


def zone_of(cal: Calendar, user):
    return func.coalesce(user.timezone, cal.default_zone)


def team_zone_of(cal: Calendar, team):
    """A team's zone, as crm.clock.team_zone reads it (the default when it has none)."""
    return func.coalesce(team.timezone, cal.default_zone)


def setting(team, name: str):
    """A team's setting, or the default for someone without a team (`team` outer-joined)."""
    return func.coalesce(getattr(team, name), getattr(TEAM_DEFAULTS, name))


def key(*parts):
    """A dedupe key from literal strings and SQL expressions, joined by ':'."""
    pieces = []
    for index, part in enumerate(parts):
        if index:
            pieces.append(literal(":"))
        pieces.append(literal(part) if isinstance(part, str) else text_of(part))
    expression = pieces[0]
    for piece in pieces[1:]:
        expression = expression.concat(piece)
    return expression


def _insert(rows) -> int:
    return notify_from(rows, COLUMNS)


def line_managers():
    """(user_id, manager_id): the active managers of a person's team (other than the person),
    or, when the team has none, those of the team above."""
    person, boss, team = aliased(User), aliased(User), aliased(Team)
    other = aliased(User)
    has_own = (select(other.id).where(other.team_id == team.id, other.role == Role.MANAGER,
                                      other.active.is_(True), other.id != person.id)
               .exists())
    return (select(person.id.label("user_id"), boss.id.label("manager_id"))
            .join(team, person.team_id == team.id)
            .join(boss, and_(boss.role == Role.MANAGER, boss.active.is_(True),
                             boss.id != person.id,
                             or_(boss.team_id == team.id,
                                 and_(boss.team_id == team.parent_id, ~has_own))))
            .subquery("line_managers"))


# Follow-ups and revisits: due, overdue, escalated ---------------------------------------

def _ladder(cal: Calendar, source, kinds: tuple, link, escalate_to=None) -> int:
    """Due on the owner's day → the owner; overdue by the team's N days → the owner again; by
    M days → their manager (or `escalate_to`). `source` (a CTE, read once) has subject,
    owner_id, due_on, customer_id, overdue_days, escalate_days and zone. One statement."""
    due_kind, overdue_kind, escalated_kind = kinds
    z = cal.zones
    s = source
    now = literal(cal.now, UTCDateTime)
    params = json_object(literal("due"), text_of(s.c.due_on), literal("subject"), s.c.subject)
    base = select().select_from(s).join(z, z.c.zone == s.c.zone)
    due = (base.add_columns(s.c.owner_id, literal(due_kind.value),
                            key(due_kind.value, s.c.subject, s.c.owner_id, s.c.due_on),
                            now, link, params, s.c.customer_id)
           .where(s.c.due_on <= z.c.today,
                  s.c.due_on > add_days(z.c.today, -s.c.overdue_days)))
    overdue = (base.add_columns(s.c.owner_id, literal(overdue_kind.value),
                                key(overdue_kind.value, s.c.subject, s.c.owner_id, s.c.due_on),
                                now, link, params, s.c.customer_id)
               .where(s.c.due_on <= add_days(z.c.today, -s.c.overdue_days),
                      s.c.due_on > add_days(z.c.today, -s.c.escalate_days)))
    bosses = line_managers()
    recipient = bosses.c.manager_id
    escalation = base.join(bosses, bosses.c.user_id == s.c.owner_id)
    if escalate_to is not None:
        # Tasks escalate to whoever assigned them, or to the manager of one who set their own.
        recipient = func.coalesce(escalate_to(s), bosses.c.manager_id)
        escalation = base.outerjoin(bosses, bosses.c.user_id == s.c.owner_id)
    owner = aliased(User)
    escalated_params = json_object(literal("due"), text_of(s.c.due_on), literal("subject"),
                                   s.c.subject, literal("person"), owner.name)
    escalated = (escalation.join(owner, owner.id == s.c.owner_id).add_columns(
        recipient, literal(escalated_kind.value),
        key(escalated_kind.value, s.c.subject, recipient, s.c.due_on),
        now, link, escalated_params, s.c.customer_id)
        .where(recipient.is_not(None),
               s.c.due_on <= add_days(z.c.today, -s.c.escalate_days),
               s.c.due_on > add_days(z.c.today, -(s.c.escalate_days + CATCH_UP_DAYS))))
    return _insert(union_all(due, overdue, escalated))


def _owner_columns(cal, owner, team):
    return (zone_of(cal, owner).label("zone"),
            setting(team, "followup_overdue_days").label("overdue_days"),
            setting(team, "followup_escalate_days").label("escalate_days"))


def follow_ups_due(cal: Calendar) -> int:
    """A follow-up's next date (still the plan) reached in the customer owner's zone."""
    owner, team = aliased(User), aliased(Team)
    source = (select(FollowUp.id.label("subject"), Customer.owner_id.label("owner_id"),
                     FollowUp.next_date.label("due_on"), FollowUp.customer_id,
                     *_owner_columns(cal, owner, team))
              .join(Customer, Customer.id == FollowUp.customer_id)
              .join(owner, owner.id == Customer.owner_id)
              .outerjoin(team, team.id == owner.team_id)
              .where(owner.active.is_(True), FollowUp.next_date.is_not(None),
                     FollowUp.next_date <= cal.last_day, FollowUp.next_date >= cal.oldest_due,
                     still_the_plan())
              .cte("due_follow_ups"))
    link = literal("/customers/").concat(text_of(source.c.customer_id))
    return _ladder(cal, source,
                   (K("followup_due"), K("followup_overdue"), K("followup_escalated")), link)


def _revisit_pending():
    """Not yet done: no revisit follow-up on its customer since shortly before its date."""
    done = (select(FollowUp.id).where(
        FollowUp.customer_id == Revisit.customer_id, FollowUp.kind == FollowUpKind.REVISIT,
        FollowUp.occurred_at >= add_days(Revisit.due_on, -REVISIT_EARLY_DAYS)).exists())
    return and_(Revisit.done_at.is_(None), ~done)


def revisit_offsets() -> object:
    """VALUES (team_key, offset): each team's revisit days after a win (0 = no team)."""
    rows = set()
    teams = [(0, TEAM_DEFAULTS.revisit_days, TEAM_DEFAULTS.revisit_every_days)]
    teams += db.session.execute(select(Team.id, Team.revisit_days, Team.revisit_every_days)).all()
    for team_id, days, every in teams:
        offsets = sorted({int(d) for d in (days or "").replace("，", ",").split(",")
                          if d.strip().isdigit() and 0 < int(d) <= 3650})
        last = offsets[-1] if offsets else 0
        if every and every > 0:
            offsets += [last + every * n for n in range(1, REVISIT_REPEATS + 1)]
        rows |= {(team_id, offset) for offset in offsets}
    return values(column("team_key", Integer), column("offset_days", Integer),
                  name="revisit_offsets").data(sorted(rows) or [(0, 7)]).cte("revisit_offsets")


def plan_revisits(cal: Calendar) -> int:
    """Won deals plan their after-sales revisits (回访): once per deal and offset."""
    owner = aliased(User)
    offsets = revisit_offsets()
    won_on = date_of(Deal.closed_at)
    due_on = add_days(won_on, offsets.c.offset_days)
    rows = (select(Deal.customer_id, Deal.id, literal("won_deal"), due_on,
                   key("won", Deal.id, offsets.c.offset_days), literal(cal.now, UTCDateTime))
            .join(owner, owner.id == Deal.owner_id)
            .join(offsets, offsets.c.team_key == func.coalesce(owner.team_id, 0))
            .where(Deal.stage.in_((Stage.WON, Stage.AFTER_SALES)), Deal.closed_at.is_not(None),
                   due_on <= cal.last_day + timedelta(days=PLAN_AHEAD_DAYS),
                   due_on >= cal.first_day - timedelta(days=CATCH_UP_DAYS)))
    statement = (insert_or_ignore(Revisit, ["plan_key"])
                 .from_select(["customer_id", "deal_id", "reason", "due_on", "plan_key",
                               "created_at"], rows).returning(Revisit.id))
    return len(db.session.execute(statement).all())


def fulfil_revisits(cal: Calendar) -> int:
    """A revisit follow-up fulfils the revisits due from a week after it back (bookkeeping:
    pending revisits are recognised without it too)."""
    follow_up = (select(func.min(FollowUp.id)).where(
        FollowUp.customer_id == Revisit.customer_id, FollowUp.kind == FollowUpKind.REVISIT,
        FollowUp.occurred_at >= add_days(Revisit.due_on, -REVISIT_EARLY_DAYS))
        .scalar_subquery())
    result = db.session.execute(
        update(Revisit).where(Revisit.done_at.is_(None), follow_up.is_not(None),
                              Revisit.due_on <= cal.last_day + timedelta(days=PLAN_AHEAD_DAYS))
        .values(done_follow_up_id=follow_up, done_at=cal.now)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def revisits_due(cal: Calendar) -> int:
    owner, team = aliased(User), aliased(Team)
    source = (select(Revisit.id.label("subject"), Customer.owner_id.label("owner_id"),
                     Revisit.due_on.label("due_on"), Revisit.customer_id,
                     *_owner_columns(cal, owner, team))
              .join(Customer, Customer.id == Revisit.customer_id)
              .join(owner, owner.id == Customer.owner_id)
              .outerjoin(team, team.id == owner.team_id)
              .where(owner.active.is_(True), Revisit.due_on <= cal.last_day,
                     Revisit.due_on >= cal.oldest_due,
                     _revisit_pending())
              .cte("due_revisits"))
    link = literal("/customers/").concat(text_of(source.c.customer_id))
    return _ladder(cal, source,
                   (K("revisit_due"), K("revisit_overdue"), K("revisit_escalated")), link)


# Birthdays ------------------------------------------------------------------------------

def birthday_candidates(first: date, days: int, earliest_year: int = 1900) -> list[tuple]:
    """(date of birth, lunar, falls on) for every date of birth whose birthday falls in
    [first, first + days), on either calendar: a set the statement joins on, built from the
    calendar (years × days), never from the customers."""
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        for year in range(earliest_year, day.year + 1):
            for born in _solar_births(day, year):
                rows.append((born, False, day))
            for born in _lunar_births(day, year):
                rows.append((born, True, day))
    return rows


def _solar_births(day: date, year: int):
    try:
        born = day.replace(year=year)
    except ValueError:
        return []
    found = [born] if born <= day else []
    if day.month == 2 and day.day == 28:
        try:  # 29 February, kept on 28 February in a common year
            leap_born = date(year, 2, 29)
            if leap_born <= day and next_birthday(leap_born, False, day) == day:
                found.append(leap_born)
        except ValueError:
            pass
    return found


def _lunar_births(day: date, year: int):
    from lunardate import LunarDate

    found = []
    for month_day in _lunar_month_days(day):
        for leap in (False, True):
            try:
                born = LunarDate(year, *month_day, leap).to_solar_date()
            except ValueError:
                continue
            if born <= day and next_birthday(born, True, day) == day:
                found.append(born)
    return found


def _lunar_month_days(day: date) -> list[tuple[int, int]]:
    from lunardate import LunarDate

    lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
    if lunar.is_leap_month:
        return []
    found = [(lunar.month, lunar.day)]
    if lunar.day == 29:  # a 30th falls on the 29th in a month of 29 days
        found.append((lunar.month, 30))
    return found


def birthdays(cal: Calendar) -> int:
    """Customers' and contacts' birthdays within the team's days ahead → the owner."""
    widest = max(TEAM_DEFAULTS.birthday_days,
                 db.session.scalar(select(func.max(Team.birthday_days))) or 0)
    span = (cal.last_day - cal.first_day).days + widest
    rows = birthday_candidates(cal.first_day, span)
    if not rows:
        return 0
    born = values(column("born", Date), column("lunar", Boolean), column("falls_on", Date),
                  name="birthdays").data(rows).cte("birthdays")
    z = cal.zones
    made = 0
    for prefix, birthday, lunar, joins in (
            ("c", Customer.birthday, Customer.birthday_lunar, None),
            ("k", Contact.birthday, Contact.birthday_lunar, Contact)):
        owner, team = aliased(User), aliased(Team)
        subject_id = Customer.id if joins is None else Contact.id
        query = select(owner.id, literal("birthday"),
                       key("birthday", literal(prefix).concat(text_of(subject_id)), owner.id,
                           born.c.falls_on),
                       literal(cal.now, UTCDateTime),
                       literal("/customers/").concat(text_of(Customer.id)),
                       json_object(literal("on"), text_of(born.c.falls_on),
                                   literal("lunar"), born.c.lunar,
                                   literal("contact_id"),
                                   subject_id if joins is not None else literal(None, Integer)),
                       Customer.id)
        if joins is not None:
            query = query.select_from(Contact).join(Customer, Customer.id == Contact.customer_id)
        else:
            query = query.select_from(Customer)
        query = (query.join(born, and_(born.c.born == birthday, born.c.lunar == lunar))
                 .join(owner, owner.id == Customer.owner_id)
                 .outerjoin(team, team.id == owner.team_id)
                 .join(z, z.c.zone == zone_of(cal, owner))
                 .where(owner.active.is_(True), birthday.is_not(None),
                        born.c.falls_on >= z.c.today,
                        born.c.falls_on < add_days(z.c.today, setting(team, "birthday_days"))))
        made += _insert(query)
    return made


# The public pool ------------------------------------------------------------------------

def protection_ending(cal: Calendar) -> int:
    owner, team = aliased(User), aliased(Team)
    ends = Customer.protected_until
    return _insert(
        select(owner.id, literal("protection_ending"),
               key("protection_ending", Customer.id, owner.id, date_of(ends)),
               literal(cal.now, UTCDateTime),
               literal("/customers/").concat(text_of(Customer.id)),
               json_object(literal("until"), text_of(ends)), Customer.id)
        .select_from(Customer).join(owner, owner.id == Customer.owner_id)
        .outerjoin(team, team.id == owner.team_id)
        .where(owner.active.is_(True), ends.is_not(None), ends > cal.now,
               ends <= add_days_ts(literal(cal.now, UTCDateTime),
                                   setting(team, "expiry_warning_days"))))


def pool_returns(cal: Calendar) -> int:
    """A customer whose protection ran out → its former owner and their manager."""
    since = cal.now - timedelta(days=CATCH_UP_DAYS)
    former = aliased(User)
    event = OwnershipEvent
    params = json_object(literal("person"), former.name)
    common = (event.kind == OwnershipChange.EXPIRY, event.at >= since,
              event.from_user_id.is_not(None))
    made = _insert(
        select(event.from_user_id, literal("pool_returned"),
               key("pool_returned", event.id, event.from_user_id, literal("expiry")),
               literal(cal.now, UTCDateTime),
               literal("/customers/").concat(text_of(event.customer_id)), params,
               event.customer_id)
        .join(former, former.id == event.from_user_id).where(*common, former.active.is_(True)))
    bosses = line_managers()
    made += _insert(
        select(bosses.c.manager_id, literal("pool_returned"),
               key("pool_returned", event.id, bosses.c.manager_id, literal("expiry")),
               literal(cal.now, UTCDateTime),
               literal("/customers/").concat(text_of(event.customer_id)), params,
               event.customer_id)
        .join(former, former.id == event.from_user_id)
        .join(bosses, bosses.c.user_id == event.from_user_id).where(*common))
    return made


# Recordings and re-checks ---------------------------------------------------------------

def reviews_waiting(cal: Calendar, morning_minute: int = MORNING_MINUTE) -> int:
    """Each morning, a manager below the team's daily target hears how many of their
    people's recordings wait for review, and since when the oldest."""
    manager, manager_team = aliased(User), aliased(Team)
    author, author_team = aliased(User), aliased(Team)
    z = cal.zones
    waiting = (select(manager.id.label("manager_id"), func.count(Recording.id).label("count"),
                      func.min(Recording.created_at).label("oldest"))
               .select_from(manager)
               .join(manager_team, manager_team.id == manager.team_id)
               .join(author_team, author_team.path.startswith(manager_team.path))
               .join(author, and_(author.team_id == author_team.id, author.id != manager.id))
               .join(FollowUp, FollowUp.author_id == author.id)
               .join(Recording, and_(Recording.follow_up_id == FollowUp.id,
                                     Recording.status == RecordingStatus.READY))
               .outerjoin(Review, Review.recording_id == Recording.id)
               .where(manager.role == Role.MANAGER, manager.active.is_(True),
                      Review.id.is_(None))
               .group_by(manager.id).subquery("waiting"))
    boss, team = aliased(User), aliased(Team)
    reviewed_today = (select(func.count(Review.id)).where(
        Review.reviewer_id == boss.id, Review.finished_at >= z.c.midnight).scalar_subquery())
    return _insert(
        select(boss.id, literal("reviews_waiting"),
               key("reviews_waiting", literal("queue"), boss.id, z.c.today),
               literal(cal.now, UTCDateTime), literal("/reviews"),
               json_object(literal("count"), waiting.c.count, literal("oldest"),
                           text_of(waiting.c.oldest)),
               literal(None, Integer))
        .select_from(waiting).join(boss, boss.id == waiting.c.manager_id)
        .outerjoin(team, team.id == boss.team_id)
        .join(z, z.c.zone == zone_of(cal, boss))
        .where(z.c.minute >= morning_minute,
               reviewed_today < setting(team, "daily_review_target")))


def rechecks_due(cal: Calendar) -> int:
    reviewer = aliased(User)
    z = cal.zones
    return _insert(
        select(reviewer.id, literal("recheck_due"),
               key("recheck_due", ImprovementAction.id, reviewer.id,
                   ImprovementAction.recheck_on),
               literal(cal.now, UTCDateTime),
               literal("/reviews/").concat(text_of(Review.id)).concat(literal("#actions")),
               json_object(literal("text"), ImprovementAction.text, literal("due"),
                           text_of(ImprovementAction.recheck_on)),
               literal(None, Integer))
        .select_from(ImprovementAction).join(Review, Review.id == ImprovementAction.review_id)
        .join(reviewer, reviewer.id == Review.reviewer_id)
        .join(z, z.c.zone == zone_of(cal, reviewer))
        .where(reviewer.active.is_(True), ImprovementAction.rechecked_at.is_(None),
               ImprovementAction.recheck_on <= z.c.today,
               ImprovementAction.recheck_on >= cal.first_day - timedelta(days=CATCH_UP_DAYS)))


# A-grade drought ------------------------------------------------------------------------

def a_drought(cal: Calendar) -> int:
    """A team without a new A deal (created as A, or upgraded to A) for its N days → its
    managers and the managers of the team above; once per drought and again every N days.
    Days are the team's calendar days (its zone): the last A on Monday evening is three days
    dry on Thursday, as the dashboard's trend shows it."""
    owner = aliased(User)
    created_a = (select(owner.team_id.label("team_id"), Deal.created_at.label("at"))
                 .join(owner, owner.id == Deal.owner_id)
                 .where(or_(Deal.grade == Grade.A, select(DealEvent.id).where(
                     DealEvent.deal_id == Deal.id, DealEvent.kind == DealChange.GRADE,
                     DealEvent.from_value == Grade.A.value).exists())))
    event_owner = aliased(User)
    upgraded = (select(event_owner.team_id.label("team_id"), DealEvent.at.label("at"))
                .join(event_owner, event_owner.id == DealEvent.owner_id)
                .where(DealEvent.kind == DealChange.GRADE, DealEvent.to_value == Grade.A.value))
    moments = union_all(created_a, upgraded).subquery("a_moments")
    last_a = (select(moments.c.team_id, func.max(moments.c.at).label("at"))
              .group_by(moments.c.team_id).subquery("last_a"))
    member = aliased(User)
    has_sellers = select(member.id).where(member.team_id == Team.id, member.active.is_(True),
                                          member.role.in_((Role.REP, Role.MANAGER))).exists()
    since = func.coalesce(last_a.c.at, Team.created_at)
    z = cal.zones
    # Calendar days from the last A's local date to the team's today: -floor((since -
    # local midnight) / 1 day).
    days = literal(0, Integer) - whole_days_between(z.c.midnight, since)
    episode = days / Team.drought_days
    manager = aliased(User)
    rows = (select(manager.id, literal("a_drought"),
                   key("a_drought", Team.id, manager.id, date_of(since), episode),
                   literal(cal.now, UTCDateTime),
                   literal("/pipeline/a-deals"),
                   json_object(literal("team"), Team.name, literal("days"), days,
                               literal("team_id"), Team.id),
                   literal(None, Integer))
            .select_from(Team).outerjoin(last_a, last_a.c.team_id == Team.id)
            .join(z, z.c.zone == team_zone_of(cal, Team))
            .join(manager, and_(manager.role == Role.MANAGER, manager.active.is_(True),
                                or_(manager.team_id == Team.id,
                                    manager.team_id == Team.parent_id)))
            .where(has_sellers, Team.drought_days > 0, days >= Team.drought_days))
    return _insert(rows)


# Tasks ----------------------------------------------------------------------------------

def tasks_due(cal: Calendar) -> int:
    """Open tasks on the assignee's day (and time, when one is set); overdue ones escalate
    to whoever assigned them, or to the manager of someone who set their own."""
    assignee, team = aliased(User), aliased(Team)
    z = cal.zones
    timely = (select(z.c.zone).where(z.c.zone == zone_of(cal, assignee), or_(
        Task.due_time.is_(None), Task.due_on < z.c.today,
        text_of(Task.due_time) <= z.c.clock)).exists())
    source = (select(Task.id.label("subject"), Task.assignee_id.label("owner_id"),
                     Task.due_on.label("due_on"), Task.customer_id,
                     Task.created_by_id.label("assigned_by"),
                     *_owner_columns(cal, assignee, team))
              .join(assignee, assignee.id == Task.assignee_id)
              .outerjoin(team, team.id == assignee.team_id)
              .where(Task.done_at.is_(None), assignee.active.is_(True),
                     Task.due_on <= cal.last_day,
                     Task.due_on >= cal.oldest_due,
                     timely)
              .cte("due_tasks"))
    link = literal("/tasks/").concat(text_of(source.c.subject))

    def assigner(s):
        from sqlalchemy import case

        return case((s.c.assigned_by != s.c.owner_id, s.c.assigned_by), else_=None)

    return _ladder(cal, source, (K("task_due"), K("task_overdue"), K("task_escalated")),
                   link, escalate_to=assigner)


# Work chat ------------------------------------------------------------------------------

def chat_alerts(cal: Calendar) -> int:
    """Team alerts made in the last day also go to the recipient's team's work chat: one
    message per team and subject per day, however many managers were notified."""
    recipient = aliased(User)
    since = cal.now - timedelta(days=1)
    subject_key = key("chat", Team.id, Notification.kind, Notification.link,
                      date_of(Notification.created_at))
    first = (select(func.min(Notification.id).label("id"), Team.id.label("team_id"),
                    subject_key.label("dedupe_key"))
             .join(recipient, recipient.id == Notification.user_id)
             .join(Team, Team.id == recipient.team_id)
             .where(Notification.kind.in_(CHAT_KINDS), Notification.created_at >= since,
                    Team.chat_channel.is_not(None), Team.chat_webhook_url.is_not(None))
             .group_by(Team.id, subject_key).subquery("chat_first"))
    rows = (select(Team.chat_channel, first.c.dedupe_key, first.c.team_id, Notification.kind,
                   Notification.params, literal(DeliveryStatus.PENDING.value),
                   literal(cal.now, UTCDateTime), literal(cal.now, UTCDateTime))
            .select_from(first).join(Notification, Notification.id == first.c.id)
            .join(Team, Team.id == first.c.team_id))
    statement = (insert_or_ignore(Delivery, ["dedupe_key"]).from_select(
        ["channel", "dedupe_key", "team_id", "kind", "params", "status", "next_attempt_at",
         "created_at"], rows).returning(Delivery.id))
    return len(db.session.execute(statement).all())


# All of them ----------------------------------------------------------------------------

SWEEPS = (follow_ups_due, plan_revisits, fulfil_revisits, revisits_due, birthdays,
          protection_ending, pool_returns, reviews_waiting, rechecks_due, a_drought,
          tasks_due, chat_alerts)


def run_all(now: datetime | None = None, *, after_each=None) -> dict[str, int]:
    """Run every sweep; returns what each made. `after_each` (the job's commit) runs after
    each sweep, so a killed run keeps what it finished."""
    cal = calendar(now)
    made = {}
    for sweep in SWEEPS:
        made[sweep.__name__] = sweep(cal)
        if after_each is not None:
            after_each()
    return made

