"""Forms for routing: rules, settings, the profile, people's specialties, the dry run, the
rebalance, and the public lead form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.accounts.models import User
from crm.columns import column_length
from crm.customers.forms import SIZE_BAND_LABELS
from crm.customers.models import Customer
from crm.forms import choices
from crm.routing.models import BALANCE_LABELS, PROFILE_FIELD_LABELS, RoutingRule

LIST_HINT = _l("Separate values with commas; leave empty for any.")


def _fits(column):
    return Length(max=column_length(column))


class RuleForm(FlaskForm):
    name = StringField(_l("Rule name"), validators=[DataRequired(), _fits(RoutingRule.name)])
    industries = StringField(_l("Industries"), description=LIST_HINT,
                             validators=[Optional(), _fits(RoutingRule.industries)])
    size_bands = StringField(_l("Organisation sizes"),
                             description=_l("micro, small, medium or large; commas between."),
                             validators=[Optional(), _fits(RoutingRule.size_bands)])
    regions = StringField(_l("Regions"), description=LIST_HINT,
                          validators=[Optional(), _fits(RoutingRule.regions)])
    sources = StringField(_l("Source channels"), description=LIST_HINT,
                          validators=[Optional(), _fits(RoutingRule.sources)])
    match_industry = BooleanField(_l("Only reps specialised in the customer's industry"))
    match_size = BooleanField(_l("Only reps specialised in the customer's size"))
    match_region = BooleanField(_l("Only reps covering the customer's region"))


class SettingsForm(FlaskForm):
    balance_by = SelectField(_l("Give each lead to the eligible rep with"),
                             choices=choices((k.value, v) for k, v in BALANCE_LABELS.items()))


class ProfileForm(FlaskForm):
    """One line per field: "value:weight, value:weight"."""

    industry = TextAreaField(PROFILE_FIELD_LABELS["industry"], validators=[Length(max=1000)])
    size_band = TextAreaField(PROFILE_FIELD_LABELS["size_band"], validators=[Length(max=1000)])
    region = TextAreaField(PROFILE_FIELD_LABELS["region"], validators=[Length(max=1000)])
    source_channel = TextAreaField(PROFILE_FIELD_LABELS["source_channel"],
                                   validators=[Length(max=1000)])
    tier = TextAreaField(PROFILE_FIELD_LABELS["tier"], validators=[Length(max=1000)])


class PersonForm(FlaskForm):
    specialty_industries = StringField(_l("Industries"), description=LIST_HINT,
                                       validators=[Optional(), Length(max=300)])
    specialty_size_band = SelectField(
        _l("Organisation size"),
        choices=choices([("", "—")] + list(SIZE_BAND_LABELS.items())),
        validators=[Optional(), _fits(User.specialty_size_band)])
    specialty_regions = StringField(_l("Regions"), description=LIST_HINT,
                                    validators=[Optional(), Length(max=300)])
    away_until = DateField(_l("Away until (inclusive)"), validators=[Optional()])


class PreviewForm(FlaskForm):
    """The dry run's sample lead (a GET form: nothing changes)."""

    class Meta:
        csrf = False

    industry = StringField(_l("Industry"), validators=[Optional(), _fits(Customer.industry)])
    size_band = SelectField(_l("Organisation size"),
                            choices=choices([("", "—")] + list(SIZE_BAND_LABELS.items())),
                            validators=[Optional()])
    region = StringField(_l("Region"), validators=[Optional(), _fits(Customer.region)])
    source_channel = StringField(_l("Source channel"),
                                 validators=[Optional(), _fits(Customer.source_channel)])
    count = IntegerField(_l("How many leads"), default=10,
                         validators=[Optional(), NumberRange(min=1, max=50)])


class RebalanceForm(FlaskForm):
    from_user_id = HiddenField()
    to_user_id = HiddenField()
    count = HiddenField()


class ButtonForm(FlaskForm):
    """Only the CSRF token."""


class LeadForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), _fits(Customer.name)])
    phone = StringField(_l("Phone"), validators=[DataRequired(), _fits(Customer.phone)])
    organisation = StringField(_l("Company"),
                               validators=[Optional(), _fits(Customer.organisation)])
    needs = TextAreaField(_l("What do you need?"), validators=[Optional(), Length(max=2000)])
    # Hidden from people; bots fill every field they find.
    website = StringField(_l("Leave this empty"), validators=[Optional()])
