"""Customers (a person or an organisation), their contacts and tags, and ownership history."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class Tier(enum.StrEnum):
    GENERAL = "general"
    SUITABLE = "suitable"
    KEY = "key"


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"


class OwnershipChange(enum.StrEnum):
    CREATE = "create"
    CLAIM = "claim"
    RELEASE = "release"
    EXPIRY = "expiry"
    TRANSFER = "transfer"
    HANDOVER = "handover"
    ROUTE = "route"


KIND_LABELS = {CustomerKind.PERSON: _l("Person"), CustomerKind.ORGANISATION: _l("Organisation")}
TIER_LABELS = {Tier.GENERAL: _l("General"), Tier.SUITABLE: _l("Suitable"), Tier.KEY: _l("Key")}
GENDER_LABELS = {Gender.FEMALE: _l("Female"), Gender.MALE: _l("Male")}
CHANGE_LABELS = {
    OwnershipChange.CREATE: _l("Customer created"),
    OwnershipChange.CLAIM: _l("Claimed from the pool"),
    OwnershipChange.RELEASE: _l("Released to the pool"),
    OwnershipChange.EXPIRY: _l("Protection ended; back to the pool"),
    OwnershipChange.TRANSFER: _l("Transferred"),
    OwnershipChange.HANDOVER: _l("Handed over"),
    OwnershipChange.ROUTE: _l("Assigned by routing"),
}

# Notes kept in Text columns (needs, pain points…) have no length in the table: forms and the
# import keep each to this many characters. Every other limit is its column's length.
NOTE_MAX_LENGTH = 4000
# The tags as typed, comma-separated, before they are split into tags of Tag.name's length.
TAGS_TEXT_MAX_LENGTH = 300

customer_tags = Table(
    "customer_tags", db.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_owner_id_id", "owner_id", "id"),
        Index("ix_customers_name_org", "name", "organisation"),
        # Key customers gone quiet, quietest first (the care list, issue 18).
        Index("ix_customers_tier_last_contact", "tier", "last_contact_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CustomerKind] = mapped_column(enum_column(CustomerKind, name="customer_kind"),
                                               default=CustomerKind.PERSON)
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str | None] = mapped_column(String(150))
    gender: Mapped[Gender | None] = mapped_column(enum_column(Gender, name="gender"))
    birthday: Mapped[date | None] = mapped_column(Date)
    # A lunar (农历) birthday is stored as the solar date of birth and recurs on the lunar
    # calendar (crm.birthdays).
    birthday_lunar: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    age: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(40))
    # E.164 and an extension, "+862155556666;ext=8" (crm.customers.phones).
    phone_normalized: Mapped[str | None] = mapped_column(String(32), index=True)
    wechat: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(60), index=True)
    industry: Mapped[str | None] = mapped_column(String(60), index=True)
    size_band: Mapped[str | None] = mapped_column(String(20))
    job_title: Mapped[str | None] = mapped_column(String(60))
    position: Mapped[str | None] = mapped_column(String(60))
    needs: Mapped[str | None] = mapped_column(Text)
    pain_points: Mapped[str | None] = mapped_column(Text)
    preferences: Mapped[str | None] = mapped_column(Text)
    personality: Mapped[str | None] = mapped_column(Text)
    consumption_habits: Mapped[str | None] = mapped_column(Text)
    source_channel: Mapped[str | None] = mapped_column(String(60))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, name="customer_tier"),
                                       default=Tier.GENERAL, index=True)
    recording_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Data rights (crm.privacy): consent to recording withdrawn (no one plays or reviews the
    # customer's recordings after it), and erased (anonymised for good).
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None while owned means protected for good (a won deal); None in the pool means nothing.
    protected_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Lower-cased names, organisation, contacts' names, tags and their pinyin...
    search_text: Mapped[str] = mapped_column(Text, default="")
    # ...and, apart, phone digits and WeChat: searched only where the user may see them.
    search_contact: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner = relationship("User", foreign_keys=[owner_id])
    referrer: Mapped["Customer | None"] = relationship(remote_side=[id])
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan",
        order_by="(Contact.is_primary.desc(), Contact.id)")
    tags: Mapped[list[Tag]] = relationship(secondary=customer_tags, order_by=Tag.name)

    # The fit score (0–100) a list query asks for (crm.routing.fit.fit_column); else None.
    fit: Mapped[int | None] = query_expression()

    __mapper_args__ = {"version_id_col": version}

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    # E.164 and an extension, "+862155556666;ext=8" (crm.customers.phones).
    phone_normalized: Mapped[str | None] = mapped_column(String(32), index=True)
    wechat: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    birthday: Mapped[date | None] = mapped_column(Date)
    birthday_lunar: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class OwnershipEvent(db.Model):
    __tablename__ = "ownership_events"
    __table_args__ = (Index("ix_ownership_events_customer_at", "customer_id", "at"),
                      # New customers and returns to the pool per person (crm.metrics).
                      Index("ix_ownership_events_to_user_at", "to_user_id", "at"),
                      Index("ix_ownership_events_from_user_at", "from_user_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[OwnershipChange] = mapped_column(enum_column(OwnershipChange,
                                                              name="ownership_change"))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(300))
    # Why routing chose the new owner (crm.routing.routing.explain renders it).
    routing: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_user = relationship("User", foreign_keys=[from_user_id])
    to_user = relationship("User", foreign_keys=[to_user_id])
    by_user = relationship("User", foreign_keys=[by_user_id])


class ImportPreview(db.Model):
    """A checked import file between preview and confirm: compressed rows, the user's own,
    expiring, and deleted when the import is confirmed."""

    __tablename__ = "import_previews"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
