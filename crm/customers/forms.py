"""Forms for the customer card: one per section, the new-customer form, contacts, pool."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.customers.editing import SECTIONS
from crm.customers.models import GENDER_LABELS, KIND_LABELS, TIER_LABELS
from crm.forms import EMAIL_SHAPE, choices, optional_int

SIZE_BAND_LABELS = {"micro": _l("Under 10 staff"), "small": _l("10–99 staff"),
                    "medium": _l("100–999 staff"), "large": _l("1,000 staff or more")}


def _text(label, length, **kwargs):
    return StringField(label, validators=[Optional(), Length(max=length)], **kwargs)


def _long(label):
    return TextAreaField(label, validators=[Optional(), Length(max=4000)])


def _field_specs() -> dict:
    """Every editable customer field, built afresh for each form class."""
    return {
        "kind": SelectField(_l("Type"), choices=choices((k.value, v)
                                                        for k, v in KIND_LABELS.items())),
        "name": StringField(_l("Name"), validators=[DataRequired(), Length(max=100)]),
        "organisation": _text(_l("Organisation"), 150),
        "gender": SelectField(_l("Gender"), choices=choices(
            [("", "—")] + [(k.value, v) for k, v in GENDER_LABELS.items()])),
        "birthday": DateField(_l("Birthday"), validators=[Optional()]),
        "age": IntegerField(_l("Age"), validators=[Optional(), NumberRange(min=0, max=130)]),
        "region": _text(_l("Region"), 60),
        "industry": _text(_l("Industry"), 60),
        "size_band": SelectField(_l("Organisation size"), choices=choices(
            [("", "—")] + list(SIZE_BAND_LABELS.items()))),
        "job_title": _text(_l("Job"), 60),
        "position": _text(_l("Position"), 60),
        "tier": SelectField(_l("Tier"), choices=choices((k.value, v)
                                                        for k, v in TIER_LABELS.items())),
        "phone": StringField(_l("Phone"), validators=[Optional(), Length(max=40)]),
        "wechat": _text(_l("WeChat"), 60),
        "email": StringField(_l("E-mail"), validators=[Optional(), EMAIL_SHAPE, Length(max=254)]),
        "address": _text(_l("Address"), 300),
        "needs": _long(_l("Needs")),
        "pain_points": _long(_l("Pain points")),
        "preferences": _long(_l("Likes and preferences")),
        "personality": _long(_l("Personality")),
        "consumption_habits": _long(_l("Consumption habits")),
        "source_channel": _text(_l("Source channel"), 60),
        "referrer": _text(_l("Referred by (name or phone of a customer)"), 100),
        "recording_consent": BooleanField(_l("Agrees to calls and visits being recorded")),
        "tags": _text(_l("Tags"), 300, description=_l("Separate with commas.")),
    }


# The sections' fields as the model names them, except that the form asks for the referrer
# by name or phone instead of an id.
SECTION_FIELDS = {section: tuple("referrer" if f == "referrer_id" else f for f in fields)
                  for section, fields in SECTIONS.items()}
SECTION_TITLES = {"basics": _l("Basics"), "contact": _l("Contact details"),
                  "profile": _l("Needs and profile"), "source": _l("Source and consent"),
                  "tags": _l("Tags")}


def _form_class(name: str, fields: tuple[str, ...], extra: dict | None = None):
    specs = _field_specs()
    attrs = {field: specs[field] for field in fields}
    attrs.update(extra or {})
    return type(name, (FlaskForm,), attrs)


SECTION_FORMS = {
    section: _form_class(f"{section.title()}SectionForm", fields, {"version": HiddenField()})
    for section, fields in SECTION_FIELDS.items()
}

NEW_CUSTOMER_FIELDS = ("kind", "name", "organisation", "phone", "wechat", "tier", "region",
                       "industry", "job_title", "needs", "source_channel", "tags",
                       "recording_consent")
NewCustomerForm = _form_class("NewCustomerForm", NEW_CUSTOMER_FIELDS, {
    "owner_id": SelectField(_l("Owner"), coerce=optional_int, validate_choice=False),
})


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    title = _text(_l("Role at the customer"), 60)
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    wechat = _text(_l("WeChat"), 60)
    email = StringField(_l("E-mail"), validators=[Optional(), EMAIL_SHAPE, Length(max=254)])
    is_primary = BooleanField(_l("Main contact"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class ReleaseForm(FlaskForm):
    reason = StringField(_l("Why release this customer?"),
                         validators=[DataRequired(), Length(max=300)])


class TransferForm(FlaskForm):
    customer_ids = SelectMultipleField(coerce=int, validate_choice=False)
    to_user_id = SelectField(_l("Transfer to"), coerce=optional_int, validate_choice=False,
                             validators=[DataRequired()])
    reason = _text(_l("Reason"), 300)
