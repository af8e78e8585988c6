"""Demo data for a first start: a realistic team in Chinese, and the printed demo accounts."""

from faker import Faker
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from crm.accounts.models import Role, User
from crm.accounts.teams import create_team
from crm.accounts.users import create_user
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
    db.session.commit()
    return True
