"""Demo data for a first start: a realistic team in Chinese, and the printed demo accounts."""

from datetime import timedelta

from faker import Faker
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from crm.accounts.models import Role, User
from crm.accounts.teams import create_team
from crm.accounts.users import create_user
from crm.clock import utcnow
from crm.extensions import db

DEMO_PASSWORD = "demo1234"

# (e-mail, name, role, team key): the accounts printed on start and used by tests.
DEMO_ACCOUNTS = [
    ("admin@demo.local", "系统管理员", Role.ADMIN, None),
    ("office@demo.local", "周敏", Role.OFFICE, None),
    ("manager@demo.local", "王建国", Role.MANAGER, "sh1"),
    ("rep@demo.local", "李娜", Role.REP, "sh1"),
    ("rep2@demo.local", "张伟", Role.REP, "sh1"),
    ("manager2@demo.local", "陈静", Role.MANAGER, "sz"),
    ("rep3@demo.local", "刘洋", Role.REP, "sz"),
]

# Team tree: key -> (name, parent key).
DEMO_TEAMS = {
    "east": ("华东大区", None),
    "sh1": ("上海一组", "east"),
    "hz": ("杭州组", "east"),
    "south": ("华南大区", None),
    "sz": ("深圳组", "south"),
}

# Extra reps (and one more manager) so every team looks staffed.
EXTRA_STAFF = {"sh1": 3, "hz": 4, "sz": 2}
INDUSTRIES = ["制造业", "零售", "教育", "医疗", "物流", "软件", "房地产", "餐饮"]


def demo_exists() -> bool:
    return bool(db.session.scalar(
        select(func.count()).select_from(User).where(User.email == DEMO_ACCOUNTS[0][0])))


def seed_demo() -> bool:
    """Create the demo teams and people once; returns False when they are already there."""
    if demo_exists():
        return False
    fake = Faker("zh_CN")
    Faker.seed(20261122)
    password_hash = generate_password_hash(DEMO_PASSWORD)

    teams = {}
    for key, (name, parent_key) in DEMO_TEAMS.items():
        teams[key] = create_team(name, teams.get(parent_key))

    for email, name, role, team_key in DEMO_ACCOUNTS:
        create_user(email=email, name=name, role=role, team=teams.get(team_key),
                    password_hash=password_hash, timezone="Asia/Shanghai",
                    phone=fake.phone_number())

    create_user(email="manager.hz@demo.local", name=fake.name(), role=Role.MANAGER,
                team=teams["hz"], password_hash=password_hash, timezone="Asia/Shanghai",
                phone=fake.phone_number())
    number = 0
    for team_key, count in EXTRA_STAFF.items():
        for _ in range(count):
            number += 1
            create_user(email=f"rep.{number:02d}@demo.local", name=fake.unique.name(),
                        role=Role.REP, team=teams[team_key], password_hash=password_hash,
                        timezone="Asia/Shanghai", phone=fake.phone_number(),
                        specialty_industries="、".join(fake.random_elements(INDUSTRIES, 2,
                                                                            unique=True)))
    db.session.flush()
    _seed_customers(fake)
    db.session.commit()
    _seed_reviews(fake)
    db.session.commit()
    _seed_routing(teams)
    _seed_reminders(fake)
    from crm.voice.demo import seed_voice

    seed_voice()
    db.session.commit()
    return True


def _seed_reminders(fake) -> None:
    """Something of every reminder kind for the demo rep and their manager: follow-ups and
    revisits due, overdue and escalated, birthdays (one lunar), tasks, a customer returned to
    the pool, a re-check due, a team without A deals; then the sweeps make the notices."""
    from zoneinfo import ZoneInfo

    from crm.customers.models import Contact, Customer, OwnershipChange, OwnershipEvent
    from crm.followups.logging import log_follow_up
    from crm.followups.models import FollowUpKind
    from crm.followups.revisits import plan_revisit
    from crm.reminders import sweeps
    from crm.reminders.models import Task
    from crm.reminders.tasks import create_task
    from crm.reviews.models import ImprovementAction, Review

    rep = db.session.scalar(select(User).where(User.email == "rep@demo.local"))
    manager = db.session.scalar(select(User).where(User.email == "manager@demo.local"))
    now = utcnow()
    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    mine = db.session.scalars(select(Customer).where(Customer.owner_id == rep.id)
                              .order_by(Customer.id)).all()
    if len(mine) < 6 or manager is None:
        return
    # Follow-ups planned for today, 3 days ago (overdue) and 6 days ago (escalated).
    for customer, late in zip(mine[:3], (0, 3, 6), strict=True):
        log_follow_up(customer, rep, kind=FollowUpKind.CALL, occurred_at=now,
                      summary=fake.random_element(SUMMARIES),
                      next_step=fake.random_element(NEXT_STEPS),
                      next_date=today - timedelta(days=late))
    # Revisits after a sale: one due, one missed long enough to reach the manager.
    plan_revisit(mine[3].id, today, reason="won_deal", plan_key="demo:revisit:due")
    plan_revisit(mine[4].id, today - timedelta(days=6), reason="won_deal",
                 plan_key="demo:revisit:missed")
    plan_revisit(mine[2].id, today - timedelta(days=3), reason="won_deal",
                 plan_key="demo:revisit:late")
    # Birthdays: a customer's tomorrow, a contact's on the lunar calendar in two days.
    mine[5].birthday = (today + timedelta(days=1)).replace(year=1982)
    lunar_born = next((born for born, lunar, _on in sweeps.birthday_candidates(
        today + timedelta(days=2), 1, earliest_year=1975) if lunar), None)
    if lunar_born is not None:
        db.session.add(Contact(customer_id=mine[5].id, name=fake.name(), title="总经理",
                               birthday=lunar_born, birthday_lunar=True))
    # A customer whose protection ran out went back to the pool.
    pool = db.session.scalar(select(Customer).where(Customer.owner_id.is_(None))
                             .order_by(Customer.id))
    if pool is not None:
        db.session.add(OwnershipEvent(customer_id=pool.id, kind=OwnershipChange.EXPIRY,
                                      from_user_id=rep.id, at=now - timedelta(hours=3)))
    # Tasks: given by the manager (one long overdue), and one the rep set for themselves.
    create_task(manager, rep, title="把修改后的合同发给客户", due_on=today,
                customer_id=mine[0].id)
    create_task(manager, rep, title="整理本月拜访记录", due_on=today - timedelta(days=6))
    db.session.add(Task(title="准备周五的产品演示", assignee_id=rep.id, created_by_id=rep.id,
                        due_on=today - timedelta(days=3), customer_id=mine[1].id))
    # A re-check (阶段性核查) due today.
    action = db.session.scalar(select(ImprovementAction).join(Review)
                               .where(Review.reviewer_id == manager.id)
                               .order_by(ImprovementAction.id))
    if action is not None:
        action.recheck_on, action.rechecked_at = today, None
    # A team being set up in Beijing: its manager has had no new A deal for ten days.
    from crm.accounts.models import Team

    south = db.session.scalar(select(Team).where(Team.name == "华东大区"))
    beijing = create_team("北京筹备组", south)
    beijing.created_at = now - timedelta(days=10)
    create_user(email="manager.bj@demo.local", name=fake.name(), role=Role.MANAGER,
                team=beijing, password_hash=rep.password_hash, timezone="Asia/Shanghai",
                phone=fake.phone_number())
    db.session.flush()
    cal = sweeps.calendar(now)
    sweeps.run_all(now)
    sweeps.reviews_waiting(cal, morning_minute=0)  # the demo starts at any hour


NEEDS = ["希望缩短交货周期", "需要一套适合门店的收银系统", "想给员工做年度体检团购",
         "考虑更换现有供应商", "预算有限，希望分期付款", "需要上门安装和培训"]
PAIN_POINTS = ["现有系统经常宕机", "售后响应慢", "价格偏高", "操作复杂，员工不会用"]
PERSONALITIES = ["做事果断，重视效率", "谨慎，喜欢对比多家", "关系型，重视信任",
                 "技术出身，关注细节"]
SOURCES = ["老客户转介绍", "展会", "官网咨询", "电话开发", "地推"]
TAGS = ["重点跟进", "价格敏感", "决策人", "老客户", "需要演示", "华东", "连锁"]
REGIONS = ["上海", "杭州", "苏州", "南京", "深圳", "广州"]


def _demo_customer_values(fake) -> dict:
    organisation = fake.company()
    return {
        "kind": "organisation" if fake.random.random() < 0.6 else "person",
        "name": fake.name(),
        "organisation": organisation,
        "phone": "1" + fake.random_element(["38", "39", "37", "36", "58", "86"])
                 + fake.numerify("########"),
        "wechat": fake.user_name(),
        "address": fake.address(),
        "region": fake.random_element(REGIONS),
        "industry": fake.random_element(INDUSTRIES),
        "size_band": fake.random_element(["micro", "small", "medium", "large"]),
        "job_title": fake.job()[:60],
        "tier": fake.random_element(["general", "general", "suitable", "key"]),
        "needs": fake.random_element(NEEDS),
        "pain_points": fake.random_element(PAIN_POINTS),
        "personality": fake.random_element(PERSONALITIES),
        "source_channel": fake.random_element(SOURCES),
        "recording_consent": fake.random.random() < 0.7,
    }


def _seed_customers(fake) -> None:
    """For every rep: customers they own (some expiring within days), and a shared pool."""
    from datetime import timedelta

    from crm.clock import utcnow
    from crm.customers.editing import DuplicateCustomer, create_customer, save_contact
    from crm.followups.logging import log_follow_up
    from crm.followups.models import FollowUpKind

    reps = db.session.scalars(
        select(User).where(User.role == Role.REP).order_by(User.id)).all()
    now = utcnow()

    def add(owner, days_left=None):
        for _attempt in range(5):
            try:
                customer = create_customer(_demo_customer_values(fake), owner, owner=owner,
                                           tags=fake.random_elements(TAGS, 2, unique=True))
            except DuplicateCustomer:
                continue
            if owner is not None and days_left is not None:
                customer.claimed_at = now - timedelta(days=30 - days_left)
                customer.protected_until = now + timedelta(days=days_left)
            if customer.kind.value == "organisation":
                save_contact(customer, {"name": fake.name(), "title": "采购负责人",
                                        "phone": "1" + fake.numerify("35########"),
                                        "is_primary": True}, owner)
            return customer
        return None

    for rep in reps:
        customers = []
        for n in range(8):
            customer = add(rep, days_left=[2, 5, 12, 20, 25, 28, 29, 30][n])
            if customer is not None:
                _seed_follow_ups(fake, customer, rep, now)
                customers.append(customer)
        _seed_deals(fake, rep, customers, now)
    for _ in range(25):
        customer = add(None)
        if customer is not None:  # worked once by someone who let it go
            log_follow_up(customer, fake.random_element(reps), kind=FollowUpKind.CALL,
                          occurred_at=now - timedelta(days=fake.random_int(40, 90)),
                          summary=fake.random_element(SUMMARIES))
    db.session.flush()
    _seed_recordings(fake)


SUMMARIES = ["上门拜访，介绍了产品方案，客户对价格比较关注", "电话沟通需求，约了下周面谈",
             "演示了系统，采购负责人很感兴趣", "发送了报价单，等待客户内部审批",
             "客户反馈竞品报价更低，需要申请折扣", "回访使用情况，客户满意"]
NEXT_STEPS = ["发送正式报价", "约决策人面谈", "安排产品演示", "跟进审批进度", "准备合同"]


def _seed_follow_ups(fake, customer, rep, now) -> None:
    """A few weeks of visits and calls, the latest with a next step, some with the manager."""
    from datetime import timedelta

    from crm.followups.logging import log_follow_up
    from crm.followups.models import FollowUpKind

    manager = db.session.scalars(select(User).where(User.team_id == rep.team_id,
                                                    User.role == Role.MANAGER)).first()
    count = fake.random_int(1, 3)
    for n in range(count):
        kind = fake.random_element([FollowUpKind.VISIT, FollowUpKind.CALL, FollowUpKind.CALL])
        last = n == count - 1
        # Weeks of history; the latest contact of most customers falls in the last week.
        days_ago = fake.random_int(0, 6) if last and fake.boolean(70) \
            else fake.random_int(1, 20) + 7 * (count - n)
        when = now - timedelta(days=days_ago, hours=fake.random_int(0, 8))
        ride_along = [manager] if manager and kind == FollowUpKind.VISIT and n == 0 else []
        log_follow_up(customer, rep, kind=kind, occurred_at=when,
                      summary=fake.random_element(SUMMARIES),
                      location=customer.address if kind == FollowUpKind.VISIT else None,
                      next_step=fake.random_element(NEXT_STEPS) if last else None,
                      next_date=(now + timedelta(days=fake.random_int(-2, 7))).date()
                      if last else None,
                      companions=ride_along)


DEMO_RECORDING_SECONDS = (12, 16, 21, 27)


def _seed_recordings(fake) -> None:
    """Short voice-like recordings on some visits and calls, made here (nothing large is in
    the repository) and processed at once so the demo opens with players ready."""
    import tempfile
    from pathlib import Path

    from crm.followups.models import FollowUp, FollowUpKind
    from crm.recordings.attaching import attach_recording
    from crm.recordings.jobs import process_recording
    from crm.recordings.samples import write_sample
    from crm.storage import audio_store

    store = audio_store()
    with tempfile.TemporaryDirectory() as folder:
        samples = [store.keep_path(write_sample(Path(folder) / f"demo-{n}.wav", "wav",
                                                seconds=seconds, seed=n))
                   for n, seconds in enumerate(DEMO_RECORDING_SECONDS)]
    # The two latest visits or calls of every rep's customers carry one.
    follow_ups = db.session.scalars(
        select(FollowUp).join(User, FollowUp.author_id == User.id)
        .where(User.role == Role.REP, FollowUp.kind.in_([FollowUpKind.VISIT,
                                                         FollowUpKind.CALL]),
               FollowUp.occurred_at > utcnow() - timedelta(days=45))
        .order_by(FollowUp.author_id, FollowUp.occurred_at.desc())).all()
    taken: dict[int, int] = {}
    recordings = []
    for follow_up in follow_ups:
        if taken.get(follow_up.author_id, 0) >= 3:
            continue
        taken[follow_up.author_id] = taken.get(follow_up.author_id, 0) + 1
        recordings.append(attach_recording(follow_up, follow_up.author,
                                           fake.random_element(samples), "audio/wav",
                                           consent_confirmed=True))
    db.session.commit()
    for recording in recordings:
        process_recording(recording.id)


REVIEW_COMMENTS = {
    "praise": ["开场自我介绍清楚，语气自然", "这里复述了客户的需求，很好",
               "用老客户案例回应，很有说服力"],
    "issue": ["客户提到预算时没有追问", "介绍功能太多，没有联系客户的痛点",
              "价格异议时急于让步"],
    "suggestion": ["可以问一句：还有谁参与决定？", "这里可以约下次见面的具体时间",
                   "先确认需求再报价"],
}
REVIEW_SUMMARIES = ["整体节奏不错，需求挖掘还可以更深入。",
                    "开场和收尾都有进步，异议处理要更沉着。",
                    "准备充分，下次把下一步约定得更具体。"]
REVIEW_ACTIONS = ["每次拜访至少问三个开放式问题", "遇到价格异议先问原因再回应",
                  "结束前约定下一步和日期"]
REPLIES = ["收到，下次注意", "当时客户赶时间，我下次先约好时间", "明白了，谢谢指点"]


def _seed_reviews(fake) -> None:
    """Reviews in every state, spread over weeks: acknowledged (with replies), read, unread,
    a draft, re-checks due today and later; the demo rep's scores improve over time."""
    from crm.followups.models import FollowUp
    from crm.notifications.models import Notification
    from crm.recordings.models import Recording, RecordingStatus
    from crm.reviews import reviewing
    from crm.reviews.models import Review
    from crm.reviews.rubric import ITEM_KEYS

    now = utcnow()
    ready = db.session.scalars(
        select(Recording).join(FollowUp).where(Recording.status == RecordingStatus.READY)
        .order_by(FollowUp.occurred_at)).all()
    if not ready:
        return
    rep = db.session.scalar(select(User).where(User.email == "rep@demo.local"))
    _more_recordings_for(rep, ready[0], now)
    by_author: dict[int, list] = {}
    for recording in db.session.scalars(
            select(Recording).join(FollowUp).where(Recording.status == RecordingStatus.READY)
            .order_by(FollowUp.occurred_at)):
        by_author.setdefault(recording.follow_up.author_id, []).append(recording)

    def manager_of(user):
        return db.session.scalar(select(User).where(User.team_id == user.team_id,
                                                    User.role == Role.MANAGER))

    def review(recording, state: str, level: int, recheck_in: int | None = None):
        author = recording.follow_up.author
        manager = manager_of(author)
        if manager is None:
            return None
        done = min(recording.follow_up.occurred_at + timedelta(days=1, hours=3),
                   now - timedelta(hours=2))
        item = reviewing.start_review(recording, manager)
        item.created_at = done - timedelta(hours=1)
        duration = recording.duration_seconds or 10
        for n, kind in enumerate(("praise", "issue", "suggestion")):
            reviewing.add_comment(item, manager, at_seconds=round(duration * (n + 1) / 4, 1),
                                  kind=kind, body=fake.random_element(REVIEW_COMMENTS[kind]))
        for key in ITEM_KEYS:
            reviewing.set_score(item, key, max(1, min(5, level + fake.random_int(-1, 1))))
        item.summary = fake.random_element(REVIEW_SUMMARIES)
        if recheck_in is not None:
            recheck_on = now.date() + timedelta(days=recheck_in)
            # Written weeks ago: a date that has come by now was in the future then.
            reviewing.add_action(item, fake.random_element(REVIEW_ACTIONS), recheck_on,
                                 today=recheck_on - timedelta(days=1))
        if state == "draft":
            return item
        reviewing.finish_review(item)
        item.finished_at = done
        if state in ("read", "acknowledged", "replied"):
            item.read_at = done + timedelta(hours=5)
        if state == "replied":
            reviewing.reply_to(item, item.comments[1], author, fake.random_element(REPLIES))
            item.comments[1].replied_at = done + timedelta(hours=6)
        if state in ("acknowledged", "replied"):
            reviewing.acknowledge(item, author)
            item.acknowledged_at = done + timedelta(hours=6)
        db.session.flush()
        return item

    # The demo rep: a history that improves, the latest one unread, one left for the queue.
    mine = by_author.get(rep.id, [])
    history = mine[:-2]
    for step, recording in enumerate(history):
        review(recording, "replied" if step % 2 else "acknowledged",
               level=2 + (3 * step) // max(len(history), 1),
               recheck_in={0: 0, 2: 10}.get(step))  # the oldest one's re-check is today
    if len(mine) >= 2:
        review(mine[-2], "finished", level=4)
    # Colleagues: one read but not acknowledged, one draft in progress, the rest queued.
    for author_id, recordings in by_author.items():
        if author_id == rep.id or len(recordings) < 2:
            continue
        review(recordings[0], "read", level=3, recheck_in=14)
        if fake.random.random() < 0.5:
            review(recordings[1], "draft", level=3)
    db.session.flush()
    # Notifications arrive when their reviews did, not at seed time.
    for note in db.session.scalars(select(Notification)):
        reviewed = db.session.get(Review, note.review_id)
        note.created_at = reviewed.finished_at or now
        if reviewed.read_at and note.user_id == reviewed.rep_id:
            note.read_at = reviewed.read_at


def _more_recordings_for(rep, source, now) -> None:
    """The demo rep's older visits and calls get recordings too (the same processed audio),
    so their trend covers two months."""
    from crm.followups.models import FollowUp, FollowUpKind
    from crm.recordings.models import Recording

    taken = select(Recording.follow_up_id)
    older = db.session.scalars(
        select(FollowUp).where(FollowUp.author_id == rep.id, FollowUp.id.not_in(taken),
                               FollowUp.kind.in_([FollowUpKind.VISIT, FollowUpKind.CALL]),
                               FollowUp.occurred_at > now - timedelta(days=80))
        .order_by(FollowUp.occurred_at).limit(6)).all()
    for follow_up in older:
        db.session.add(Recording(
            follow_up_id=follow_up.id, uploaded_by_id=rep.id, created_at=follow_up.occurred_at,
            original_sha256=source.original_sha256, original_size=source.original_size,
            original_type=source.original_type, playable_sha256=source.playable_sha256,
            playable_size=source.playable_size, status=source.status,
            duration_seconds=source.duration_seconds, peaks=source.peaks,
            consent_confirmed_by_id=rep.id, consent_confirmed_at=follow_up.occurred_at))
    db.session.flush()
DEAL_TITLES = ["年度设备采购", "门店收银系统", "员工体检团购", "仓储管理软件", "售后维保合同",
               "新店装修配套", "培训服务包", "备件年度供货"]
LOST_REASONS = ["预算被砍", "选了竞品", "项目暂停"]


def _seed_deals(fake, rep, customers, now) -> None:
    """Open deals in every stage and grade, one won and one lost, each with a history of
    stage and grade moves over the past weeks; a third changed since yesterday."""
    from datetime import timedelta
    from decimal import Decimal

    from crm.pipeline.deals import create_deal, move_deal, regrade_deal
    from crm.pipeline.models import OPEN_STAGES, STAGE_ORDER, DealEvent, Grade, Stage

    if not customers:
        return
    plans = [(stage, grade) for stage in OPEN_STAGES for grade in Grade]
    plans += [(Stage.WON, Grade.A), (Stage.LOST, Grade.C)]
    for n, (stage, grade) in enumerate(plans):
        customer = customers[n % len(customers)]
        amount = Decimal(fake.random_int(20, 600) * 1000)
        deal = create_deal(customer, rep, title=fake.random_element(DEAL_TITLES), grade=Grade.C,
                           amount=amount)
        for step in STAGE_ORDER[1:STAGE_ORDER.index(stage) + 1] if stage != Stage.LOST else (
                Stage.FIRST_MEETING, Stage.LOST):
            move_deal(deal, rep, step, amount=amount,
                      reason=fake.random_element(LOST_REASONS) if step == Stage.LOST else None)
        grades = {Grade.C: [], Grade.B: [Grade.B], Grade.A: [Grade.B, Grade.A]}[grade]
        if n % 5 == 4 and grade != Grade.A:  # rated A too soon, then downgraded
            grades = [Grade.A, grade]
        for step in grades:
            regrade_deal(deal, rep, step)
        # Spread the history over the past weeks, oldest first; every third deal moved
        # within the last day so the review sheet's "since yesterday" has something to say.
        events = db.session.scalars(select(DealEvent).where(DealEvent.deal_id == deal.id)
                                    .order_by(DealEvent.id)).all()
        start = now - timedelta(days=fake.random_int(14, 40))
        recent = n % 3 == 0
        for place, event in enumerate(events):
            event.at = start + timedelta(days=place * 3, hours=fake.random_int(1, 8))
        if recent and len(events) > 1:
            events[-1].at = now - timedelta(hours=fake.random_int(1, 12))
        deal.created_at = events[0].at
        deal.expected_close = (now + timedelta(days={Grade.A: 6, Grade.B: 13, Grade.C: 28}[
            deal.grade] + fake.random_int(-3, 3))).date()


def _seed_routing(teams) -> None:
    """Each team routes new leads to whoever has the fewest open customers, its regional
    profile weighs industries, size and tier, and Shanghai 1 has a public lead form."""
    from crm.routing import fit, setup

    for key, team in teams.items():
        if key in ("sh1", "hz", "sz"):
            setup.save_rule(team, {"name": "制造业大客户", "industries": "制造业",
                                   "size_bands": "large", "match_industry": True})
            setup.save_rule(team, {"name": "全部线索"})
    for key in ("east", "south"):
        fit.set_profile(teams[key].id, [("industry", "制造业", 3), ("industry", "医疗", 2),
                                        ("size_band", "large", 2), ("size_band", "medium", 1),
                                        ("tier", "key", 1)])
    setup.renew_lead_form(teams["sh1"])
