"""Users, teams (a tree) and the server-side sessions that make logout real."""

import enum
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class Role(enum.StrEnum):
    REP = "rep"
    MANAGER = "manager"
    OFFICE = "office"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.REP: _l("Sales rep"),
    Role.MANAGER: _l("Manager"),
    Role.OFFICE: _l("Office"),
    Role.ADMIN: _l("Administrator"),
}


@dataclass(frozen=True)
class TeamDefaults:
    """The rules a new team starts with, and those that apply to a user without a team.

    Its attributes are named as Team's columns, so `team or TEAM_DEFAULTS` reads either.
    """

    # Public-pool rules.
    protection_days: int = 30
    holding_limit: int = 200
    expiry_warning_days: int = 3
    # Recordings a manager aims to review each day (录音分析).
    daily_review_target: int = 2
    # Pipeline grades: within how many days an A, B or C deal is expected to sign.
    grade_a_days: int = 7
    grade_b_days: int = 14
    grade_c_days: int = 30
    # Goals, dashboard and reports (issue 12): the zone a team's days, weeks and months are
    # counted in; whether its leaderboard hides amounts; when its reports are made (local
    # hours; the weekly one on a weekday, Monday = 0; the monthly one on the 1st).
    timezone: str = "Asia/Shanghai"
    leaderboard_hides_amounts: bool = False
    report_daily_hour: int = 20
    report_weekly_day: int = 0
    report_weekly_hour: int = 8
    report_monthly_hour: int = 8
    # A check-in farther than this from the customer's saved location is flagged (签到).
    check_in_far_metres: int = 300
    # Reminders: a follow-up (or revisit) overdue this many days reminds its owner again,
    # and this many escalates to their manager.
    followup_overdue_days: int = 2
    followup_escalate_days: int = 5
    # After-sales revisits (回访) after a won deal: these days, then every `revisit_every_days`.
    revisit_days: str = "7,30,90"
    revisit_every_days: int = 180
    # Birthdays are announced this many days ahead.
    birthday_days: int = 3
    # A team without a new A deal for this many days alerts its managers (and again every
    # as many days more).
    drought_days: int = 3
    # The team's work-chat robot (wecom, dingtalk or feishu), its address and signing secret.
    chat_channel: str | None = None
    chat_webhook_url: str | None = None
    chat_secret: str | None = None


TEAM_DEFAULTS = TeamDefaults()


def _team_setting(default: int) -> MappedColumn[int]:
    return mapped_column(Integer, default=default, server_default=str(default))


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # Materialised path "/1/4/9/": a subtree is one indexed prefix match, no recursion.
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The team's rules (see TeamDefaults for what each means and starts at).
    protection_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.protection_days)
    holding_limit: Mapped[int] = _team_setting(TEAM_DEFAULTS.holding_limit)
    expiry_warning_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.expiry_warning_days)
    daily_review_target: Mapped[int] = _team_setting(TEAM_DEFAULTS.daily_review_target)
    grade_a_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.grade_a_days)
    grade_b_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.grade_b_days)
    grade_c_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.grade_c_days)
    timezone: Mapped[str] = mapped_column(String(64), default=TEAM_DEFAULTS.timezone,
                                          server_default=TEAM_DEFAULTS.timezone)
    leaderboard_hides_amounts: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0")
    report_daily_hour: Mapped[int] = _team_setting(TEAM_DEFAULTS.report_daily_hour)
    report_weekly_day: Mapped[int] = _team_setting(TEAM_DEFAULTS.report_weekly_day)
    report_weekly_hour: Mapped[int] = _team_setting(TEAM_DEFAULTS.report_weekly_hour)
    report_monthly_hour: Mapped[int] = _team_setting(TEAM_DEFAULTS.report_monthly_hour)
    check_in_far_metres: Mapped[int] = _team_setting(TEAM_DEFAULTS.check_in_far_metres)
    followup_overdue_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.followup_overdue_days)
    followup_escalate_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.followup_escalate_days)
    revisit_days: Mapped[str] = mapped_column(String(60), default=TEAM_DEFAULTS.revisit_days,
                                              server_default=TEAM_DEFAULTS.revisit_days)
    revisit_every_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.revisit_every_days)
    birthday_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.birthday_days)
    drought_days: Mapped[int] = _team_setting(TEAM_DEFAULTS.drought_days)
    chat_channel: Mapped[str | None] = mapped_column(String(20))
    # Secrets: never logged, never shown back in a form.
    chat_webhook_url: Mapped[str | None] = mapped_column(String(500))
    chat_secret: Mapped[str | None] = mapped_column(String(200))

    parent: Mapped["Team | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Team"]] = relationship(back_populates="parent",
                                                  order_by="Team.name")
    members: Mapped[list["User"]] = relationship(back_populates="team")

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2 if self.path else 0

    def __repr__(self):
        return f"<Team {self.id} {self.name!r}>"


# Two teams under one parent never share a name (compared without case); top-level teams
# (no parent) count as siblings under parent 0 — a NULL would make every one of them unique.
# crm.accounts.teams refuses a clash with a message first; the index catches a race.
TEAM_NAME_INDEX = "uq_teams_parent_name"
Index(TEAM_NAME_INDEX, func.coalesce(Team.parent_id, 0), func.lower(Team.name), unique=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, name="user_role"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Used to route new leads: comma-separated industries and a customer size band.
    specialty_industries: Mapped[str | None] = mapped_column(Text)
    specialty_size_band: Mapped[str | None] = mapped_column(String(20))
    # Routing (crm.routing): comma-separated regions, away until (inclusive), and the
    # routing turn of the last lead this user was given (ties go to the longest waiting).
    specialty_regions: Mapped[str | None] = mapped_column(Text)
    away_until: Mapped[date | None] = mapped_column(Date)
    routed_turn: Mapped[int | None] = mapped_column(Integer)

    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor sign-in (crm.accounts.two_factor): the TOTP secret once enrolment is confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The 30-second step of the last code accepted: a code works once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    team: Mapped[Team | None] = relationship(back_populates="members")
    sessions: Mapped[list["UserSession"]] = relationship(back_populates="user",
                                                         cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    # Set by the login flow and the user loader: which server-side session this request uses.
    session_token = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        # Flask-Login stores this in the cookie: the session token, never the bare user id,
        # so deleting the session row invalidates every copy of the cookie.
        return self.session_token

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self):
        return f"<User {self.id} {self.role}>"


class UserSession(db.Model):
    """One signed-in browser. Logout deletes it; password change or deactivation deletes all."""

    __tablename__ = "user_sessions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(back_populates="sessions")

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)
