"""Forms for the customer card: one per section, the new-customer form, contacts, pool."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.columns import column_length
from crm.customers.editing import SECTIONS
from crm.customers.models import (
    GENDER_LABELS,
    KIND_LABELS,
    NOTE_MAX_LENGTH,
    TAGS_TEXT_MAX_LENGTH,
    TIER_LABELS,
    Contact,
    Customer,
    OwnershipEvent,
)
from crm.forms import EMAIL_SHAPE, VersionedForm, choices, optional_int

SIZE_BAND_LABELS = {"micro": _l("Under 10 staff"), "small": _l("10–99 staff"),
                    "medium": _l("100–999 staff"), "large": _l("1,000 staff or more")}


def _fits(column) -> Length:
    """No longer than the model's column holds: the limit is written once, in the model."""
    return Length(max=column_length(column))


def _text(label, column, **kwargs):
    return StringField(label, validators=[Optional(), _fits(column)], **kwargs)


def _long(label):
    return TextAreaField(label, validators=[Optional(), Length(max=NOTE_MAX_LENGTH)])


def _field_specs() -> dict:
    """Every editable customer field, built afresh for each form class."""
    return {
        "kind": SelectField(_l("Type"), choices=choices((k.value, v)
                                                        for k, v in KIND_LABELS.items())),
        "name": StringField(_l("Name"), validators=[DataRequired(), _fits(Customer.name)]),
        "organisation": _text(_l("Organisation"), Customer.organisation),
        "gender": SelectField(_l("Gender"), choices=choices(
            [("", "—")] + [(k.value, v) for k, v in GENDER_LABELS.items()])),
        "birthday": DateField(_l("Birthday"), validators=[Optional()]),
        "birthday_lunar": BooleanField(_l("Kept on the lunar calendar (农历)"),
                                       description=_l("Enter the date of birth; the birthday "
                                                      "then recurs on its lunar date.")),
        "age": IntegerField(_l("Age"), validators=[Optional(), NumberRange(min=0, max=130)]),
        "region": _text(_l("Region"), Customer.region),
        "industry": _text(_l("Industry"), Customer.industry),
        "size_band": SelectField(_l("Organisation size"), choices=choices(
            [("", "—")] + list(SIZE_BAND_LABELS.items()))),
        "job_title": _text(_l("Job"), Customer.job_title),
        "position": _text(_l("Position"), Customer.position),
        "tier": SelectField(_l("Tier"), choices=choices((k.value, v)
                                                        for k, v in TIER_LABELS.items())),
        "phone": _text(_l("Phone"), Customer.phone),
        "wechat": _text(_l("WeChat"), Customer.wechat),
        "email": StringField(_l("E-mail"),
                             validators=[Optional(), EMAIL_SHAPE, _fits(Customer.email)]),
        "address": _text(_l("Address"), Customer.address),
        "needs": _long(_l("Needs")),
        "pain_points": _long(_l("Pain points")),
        "preferences": _long(_l("Likes and preferences")),
        "personality": _long(_l("Personality")),
        "consumption_habits": _long(_l("Consumption habits")),
        "source_channel": _text(_l("Source channel"), Customer.source_channel),
        # A customer's name or phone: as long as the longer of the two may be.
        "referrer": StringField(_l("Referred by (name or phone of a customer)"), validators=[
            Optional(), Length(max=max(column_length(Customer.name),
                                       column_length(Customer.phone)))]),
        "recording_consent": BooleanField(_l("Agrees to calls and visits being recorded")),
        "tags": StringField(_l("Tags"), validators=[Optional(), Length(max=TAGS_TEXT_MAX_LENGTH)],
                            description=_l("Separate with commas.")),
    }


# The sections' fields as the model names them, except that the form asks for the referrer
# by name or phone instead of an id.
SECTION_FIELDS = {section: tuple("referrer" if f == "referrer_id" else f for f in fields)
                  for section, fields in SECTIONS.items()}
SECTION_TITLES = {"basics": _l("Basics"), "contact": _l("Contact details"),
                  "profile": _l("Needs and profile"), "source": _l("Source and consent"),
                  "tags": _l("Tags")}


def _form_class(name: str, fields: tuple[str, ...], extra: dict | None = None,
                base=FlaskForm):
    specs = _field_specs()
    attrs = {field: specs[field] for field in fields}
    attrs.update(extra or {})
    return type(name, (base,), attrs)


SECTION_FORMS = {
    section: _form_class(f"{section.title()}SectionForm", fields, base=VersionedForm)
    for section, fields in SECTION_FIELDS.items()
}

NEW_CUSTOMER_FIELDS = ("kind", "name", "organisation", "phone", "wechat", "tier", "region",
                       "industry", "job_title", "needs", "source_channel", "tags",
                       "recording_consent")
NewCustomerForm = _form_class("NewCustomerForm", NEW_CUSTOMER_FIELDS, {
    "owner_id": SelectField(_l("Owner"), coerce=optional_int, validate_choice=False),
    # Office and admin may instead send the new customer through a team's routing rules.
    "route_team_id": SelectField(_l("Or route by the rules of team"), coerce=optional_int,
                                 validate_choice=False),
})


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), _fits(Contact.name)])
    title = _text(_l("Role at the customer"), Contact.title)
    phone = _text(_l("Phone"), Contact.phone)
    wechat = _text(_l("WeChat"), Contact.wechat)
    email = StringField(_l("E-mail"), validators=[Optional(), EMAIL_SHAPE, _fits(Contact.email)])
    is_primary = BooleanField(_l("Main contact"))
    birthday = DateField(_l("Birthday"), validators=[Optional()])
    birthday_lunar = BooleanField(_l("Kept on the lunar calendar (农历)"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class ReleaseForm(FlaskForm):
    reason = StringField(_l("Why release this customer?"),
                         validators=[DataRequired(), _fits(OwnershipEvent.reason)])


class TransferForm(FlaskForm):
    customer_ids = SelectMultipleField(coerce=int, validate_choice=False)
    to_user_id = SelectField(_l("Transfer to"), coerce=optional_int, validate_choice=False,
                             validators=[DataRequired()])
    reason = _text(_l("Reason"), OwnershipEvent.reason)
