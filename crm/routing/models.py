"""Routing new customers to reps, and the team's ideal customer profile (客户画像).

- TeamRouting: one row per team that routes: what "workload" means (open customers or open
  deals), the public lead form's token, and a turn counter. Routing locks this row, so two
  leads for one team are routed one after the other and read each other's loads.
- RoutingRule: conditions on a new customer (empty = any) and which specialties an
  eligible rep must have; tried in `position` order.
- ProfileCriterion: one weighted value of the ideal customer profile.
- CustomerFit: each customer's fit (0–100) against each team's profile, kept by
  crm.routing.fit in set-based statements.
"""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class BalanceBy(enum.StrEnum):
    CUSTOMERS = "customers"
    DEALS = "deals"


BALANCE_LABELS = {BalanceBy.CUSTOMERS: _l("Fewest open customers"),
                  BalanceBy.DEALS: _l("Fewest open deals")}


class ProfileField(enum.StrEnum):
    INDUSTRY = "industry"
    SIZE_BAND = "size_band"
    REGION = "region"
    SOURCE_CHANNEL = "source_channel"
    TIER = "tier"


PROFILE_FIELD_LABELS = {
    ProfileField.INDUSTRY: _l("Industry"),
    ProfileField.SIZE_BAND: _l("Organisation size"),
    ProfileField.REGION: _l("Region"),
    ProfileField.SOURCE_CHANNEL: _l("Source channel"),
    ProfileField.TIER: _l("Tier"),
}


class TeamRouting(db.Model):
    __tablename__ = "team_routing"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         primary_key=True)
    balance_by: Mapped[BalanceBy] = mapped_column(
        enum_column(BalanceBy, name="routing_balance"), default=BalanceBy.CUSTOMERS,
        server_default=BalanceBy.CUSTOMERS.value)
    # The public lead form's address; None = no form. Rotating it retires the old link.
    lead_form_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Bumped by every routing: the row lock, and the clock of round-robin turns.
    turn: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RoutingRule(db.Model):
    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_team_position", "team_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(60))
    # Conditions: comma-separated values, any of which matches; empty matches every customer.
    industries: Mapped[str | None] = mapped_column(String(300))
    size_bands: Mapped[str | None] = mapped_column(String(100))
    regions: Mapped[str | None] = mapped_column(String(300))
    sources: Mapped[str | None] = mapped_column(String(300))
    # Eligible reps must list the customer's industry / size band / region among theirs.
    match_industry: Mapped[bool] = mapped_column(Boolean, default=False)
    match_size: Mapped[bool] = mapped_column(Boolean, default=False)
    match_region: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProfileCriterion(db.Model):
    __tablename__ = "profile_criteria"
    __table_args__ = (UniqueConstraint("team_id", "field", "value",
                                       name="uq_profile_criteria_team_field_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         index=True)
    field: Mapped[ProfileField] = mapped_column(enum_column(ProfileField, name="profile_field"))
    value: Mapped[str] = mapped_column(String(60))
    weight: Mapped[int] = mapped_column(Integer)


class CustomerFit(db.Model):
    __tablename__ = "customer_fits"
    __table_args__ = (Index("ix_customer_fits_team_score", "team_id", "score", "customer_id"),
                      Index("ix_customer_fits_customer_id", "customer_id"))

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             primary_key=True)
    score: Mapped[int] = mapped_column(Integer)


# Fit scores follow every flush of a customer: the session hook lives with the scoring.
from crm.routing import fit as _fit  # noqa: E402, F401
