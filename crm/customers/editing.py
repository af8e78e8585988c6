"""Creating and editing customers: sections, contacts, tags, duplicates, stale edits."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from crm.accounts.models import TEAM_DEFAULTS
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.columns import column_length
from crm.customers.history import log_one
from crm.customers.models import Contact, Customer, CustomerKind, Gender, OwnershipChange, Tag, Tier
from crm.customers.phones import InvalidPhone, normalise_phone
from crm.customers.search import refresh_search_text
from crm.errors import DomainError, StaleEdit
from crm.extensions import db

# The card's sections and the fields each one edits.
SECTIONS = {
    "basics": ("kind", "name", "organisation", "gender", "birthday", "birthday_lunar", "age",
               "region",
               "industry", "size_band", "job_title", "position", "tier"),
    "contact": ("phone", "wechat", "email", "address"),
    "profile": ("needs", "pain_points", "preferences", "personality", "consumption_habits"),
    "source": ("source_channel", "referrer_id", "recording_consent"),
    "tags": ("tags",),
}
ENUM_FIELDS = {"kind": CustomerKind, "tier": Tier, "gender": Gender}
PHONE_ERROR = _l("Enter a valid phone number (mainland numbers need no +86).")


def find_duplicates(*, phone_normalized: str | None, name: str | None,
                    organisation: str | None, exclude_id: int | None = None) -> list[Customer]:
    """Customers that are the same one: the same phone (theirs or a contact's), or the same
    name at the same organisation."""
    conditions = []
    if phone_normalized:
        contact_owners = select(Contact.customer_id).where(
            Contact.phone_normalized == phone_normalized)
        conditions += [Customer.phone_normalized == phone_normalized,
                       Customer.id.in_(contact_owners)]
    if name:
        conditions.append((func.lower(Customer.name) == name.strip().lower())
                          & (func.coalesce(func.lower(Customer.organisation), "")
                             == (organisation or "").strip().lower()))
    if not conditions:
        return []
    query = select(Customer).where(or_(*conditions))
    if exclude_id:
        query = query.where(Customer.id != exclude_id)
    return list(db.session.scalars(query.limit(5)))


def find_referrer(text: str | None, customer: Customer, scope) -> int | None:
    """The one customer within `scope` (what the user may see) named or numbered `text`."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        phone = normalise_phone(text)
    except InvalidPhone:
        phone = None
    condition = Customer.phone_normalized == phone if phone else Customer.name == text
    found = list(db.session.scalars(scope.with_only_columns(Customer.id)
                                    .where(condition, Customer.id != customer.id).limit(2)))
    if len(found) != 1:
        raise DomainError(_l("No single customer matches this name or phone."),
                          field="referrer")
    return found[0]


def set_tags(customer: Customer, names: list[str]) -> None:
    longest = column_length(Tag.name)
    cleaned = list(dict.fromkeys(n.strip()[:longest] for n in names if n and n.strip()))
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(cleaned)))}
    customer.tags = [existing.get(name) or _new_tag(name) for name in cleaned]


def _new_tag(name: str) -> Tag:
    """Create a tag; if another request created it a moment ago, use theirs."""
    try:
        with db.session.begin_nested():
            tag = Tag(name=name)
            db.session.add(tag)
        return tag
    except IntegrityError:
        return db.session.scalars(select(Tag).where(Tag.name == name)).one()


def parse_tags(text: str | None) -> list[str]:
    return [part for part in (text or "").replace("，", ",").replace("、", ",").split(",")
            if part.strip()]


def _apply(customer: Customer, values: dict) -> list[str]:
    """Copy form values onto the customer; return the names of fields that changed."""
    changed = []
    for field, value in values.items():
        if field == "tags":
            before = [t.name for t in customer.tags]
            set_tags(customer, value)
            if [t.name for t in customer.tags] != before:
                changed.append(field)
            continue
        if field == "phone":
            try:
                normalised = normalise_phone(value)
            except InvalidPhone as error:
                raise DomainError(PHONE_ERROR, field="phone") from error
            if normalised != customer.phone_normalized:
                changed.append(field)
            customer.phone = value.strip() if value else None
            customer.phone_normalized = normalised
            continue
        if isinstance(value, str):
            value = value.strip() or None
        if field in ENUM_FIELDS and value is not None:
            try:
                value = ENUM_FIELDS[field](value)
            except ValueError as error:
                raise DomainError(_l("Choose a value from the list."), field=field) from error
        if getattr(customer, field) != value:
            changed.append(field)
            setattr(customer, field, value)
    return changed


def give_to_owner(customer: Customer, owner, protection_days: int) -> None:
    """A new customer's owner, protected from now for the given days."""
    now = utcnow()
    customer.owner_id = owner.id
    customer.claimed_at = now
    customer.protected_until = now + timedelta(days=protection_days)


def create_customer(values: dict, by_user, *, owner=None,
                    protection_days: int = TEAM_DEFAULTS.protection_days,
                    tags: list[str] | None = None) -> Customer:
    """A new customer, owned by `owner` (protected) or in the pool; refuses duplicates."""
    try:
        phone = normalise_phone(values.get("phone"))
    except InvalidPhone as error:
        raise DomainError(PHONE_ERROR, field="phone") from error
    duplicates = find_duplicates(phone_normalized=phone, name=values.get("name"),
                                 organisation=values.get("organisation"))
    if duplicates:
        raise DuplicateCustomer(duplicates)
    customer = Customer(created_by_id=by_user.id if by_user else None)
    db.session.add(customer)
    _apply(customer, {k: v for k, v in values.items() if k != "tags"})
    set_tags(customer, tags or [])
    if owner is not None:
        give_to_owner(customer, owner, protection_days)
    refresh_search_text(customer)
    db.session.flush()
    log_one(customer.id, OwnershipChange.CREATE, to_user_id=owner.id if owner else None,
            by_user_id=by_user.id if by_user else None)
    record(AuditAction.CREATE, by_user.id if by_user else None, customer.id)
    return customer


class DuplicateCustomer(DomainError):
    def __init__(self, existing: list[Customer]):
        super().__init__(_l("This customer already exists."))
        self.existing = existing


def update_section(customer: Customer, expected_version: int, section: str, values: dict,
                   by_user) -> list[str]:
    """Save one section of the card; refuse it if the card changed since it was opened."""
    if section not in SECTIONS:
        raise DomainError(_l("Unknown section."))
    if customer.version != expected_version:
        raise StaleEdit()
    values = {k: v for k, v in values.items() if k in SECTIONS[section]}
    phone_changed = False
    if "phone" in values:
        try:
            phone_changed = normalise_phone(values["phone"]) != customer.phone_normalized
        except InvalidPhone as error:
            raise DomainError(PHONE_ERROR, field="phone") from error
    name = (values.get("name", customer.name), values.get("organisation", customer.organisation))
    name_changed = name != (customer.name, customer.organisation)
    if phone_changed or name_changed:
        # Only what changes can become a duplicate of someone else.
        duplicates = find_duplicates(
            phone_normalized=normalise_phone(values["phone"]) if phone_changed else None,
            name=name[0] if name_changed else None, organisation=name[1],
            exclude_id=customer.id)
        if duplicates:
            raise DuplicateCustomer(duplicates)
    if values.get("referrer_id") == customer.id:
        raise DomainError(_l("A customer cannot refer themselves."), field="referrer_id")
    changed = _apply(customer, values)
    if changed:
        refresh_search_text(customer)
        db.session.flush()
        record(AuditAction.EDIT, by_user.id, customer.id, section=section, fields=changed)
    return changed


def save_contact(customer: Customer, values: dict, by_user, contact: Contact | None = None
                 ) -> Contact:
    try:
        phone = normalise_phone(values.get("phone"))
    except InvalidPhone as error:
        raise DomainError(PHONE_ERROR, field="phone") from error
    if contact is None:
        contact = Contact(customer=customer)
        db.session.add(contact)
    for field in ("name", "title", "wechat", "email", "note"):
        value = values.get(field)
        setattr(contact, field, value.strip() if isinstance(value, str) and value.strip()
                else None)
    contact.phone = (values.get("phone") or "").strip() or None
    contact.phone_normalized = phone
    if "birthday" in values:  # a lunar (农历) birthday recurs on the lunar calendar
        contact.birthday = values.get("birthday")
        contact.birthday_lunar = bool(values.get("birthday_lunar")) and contact.birthday is not None
    contact.is_primary = bool(values.get("is_primary"))
    contact.birthday = values.get("birthday")
    contact.birthday_lunar = bool(values.get("birthday_lunar")) and contact.birthday is not None
    if contact.is_primary:
        for other in customer.contacts:
            if other is not contact:
                other.is_primary = False
    db.session.flush()
    db.session.refresh(customer, ["contacts"])
    refresh_search_text(customer)
    record(AuditAction.EDIT, by_user.id if by_user else None, customer.id, section="contacts",
           fields=["contact"])
    return contact


def delete_contact(customer: Customer, contact: Contact, by_user) -> None:
    db.session.delete(contact)
    db.session.flush()
    db.session.refresh(customer, ["contacts"])
    refresh_search_text(customer)
    record(AuditAction.EDIT, by_user.id if by_user else None, customer.id, section="contacts",
           fields=["contact"])
