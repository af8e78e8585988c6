"""The "log a visit" form and the ride-along notes form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from crm.followups.models import KIND_LABELS
from crm.forms import choices


class FollowUpForm(FlaskForm):
    kind = SelectField(_l("What"), choices=choices((k.value, v) for k, v in KIND_LABELS.items()))
    occurred_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M",
                                     validators=[DataRequired()])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=200)])
    latitude = FloatField(validators=[Optional(), NumberRange(min=-90, max=90)],
                          widget=HiddenInput())
    longitude = FloatField(validators=[Optional(), NumberRange(min=-180, max=180)],
                           widget=HiddenInput())
    summary = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=4000)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=2000)])
    next_step = StringField(_l("Next step"), validators=[Optional(), Length(max=300)])
    next_date = DateField(_l("Next follow-up on"), validators=[Optional()])
    companions = SelectMultipleField(_l("Who rode along"), coerce=int, validate_choice=False)
    submission_key = HiddenField(validators=[Optional(), Length(max=40)])


class CompanionNotesForm(FlaskForm):
    notes = TextAreaField(_l("Your notes on this visit"),
                          validators=[DataRequired(), Length(max=4000)])
