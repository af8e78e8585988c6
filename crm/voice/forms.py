"""Forms for feedback, surveys, care and member days."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.columns import column_length
from crm.customers.models import TIER_LABELS
from crm.forms import VersionedForm, choices, optional_int
from crm.voice.models import (
    CHANNEL_LABELS,
    GESTURE_LABELS,
    KIND_LABELS,
    OCCASION_LABELS,
    REASON_LABELS,
    SCALE_LABELS,
    SEVERITY_LABELS,
    CareGesture,
    FeedbackStatus,
    MemberDay,
    Severity,
)

SUMMARY_MAX = 4000


def _pairs(labels):
    return choices((key.value, label) for key, label in labels.items())


class FeedbackForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_pairs(KIND_LABELS))
    channel = SelectField(_l("Channel"), choices=_pairs(CHANNEL_LABELS))
    severity = SelectField(_l("Severity"), choices=_pairs(SEVERITY_LABELS),
                           default=Severity.NORMAL.value)
    summary = TextAreaField(_l("What the customer said"),
                            validators=[DataRequired(), Length(max=SUMMARY_MAX)])
    received_at = DateTimeLocalField(_l("Received at"), validators=[Optional()],
                                     description=_l("Left empty: now."))
    assignee_id = SelectField(_l("Assignee"), coerce=optional_int, validate_choice=False,
                              description=_l("Left empty: the customer's owner."))
    # Registered from a survey's comment: which survey (it must be the customer's).
    survey_id = HiddenField()


class StatusForm(VersionedForm):
    status = HiddenField()
    resolution = TextAreaField(_l("Resolution"), validators=[Optional(), Length(max=SUMMARY_MAX)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])

    def target(self) -> FeedbackStatus | None:
        try:
            return FeedbackStatus(self.status.data)
        except ValueError:
            return None


class AssignForm(VersionedForm):
    assignee_id = SelectField(_l("Assignee"), coerce=optional_int, validate_choice=False,
                              validators=[DataRequired()])
    severity = SelectField(_l("Severity"), choices=_pairs(SEVERITY_LABELS))


class ValuableForm(VersionedForm):
    valuable = BooleanField(_l("Valuable: the customer is to be thanked"))
    valuable_note = StringField(_l("Why it is valuable"),
                                validators=[Optional(), Length(max=300)])


class SurveyForm(FlaskForm):
    reason = SelectField(_l("Why now"), choices=_pairs(REASON_LABELS))


class GestureForm(FlaskForm):
    kind = SelectField(_l("Greeting or gift"), choices=_pairs(GESTURE_LABELS))
    occasion = SelectField(_l("Occasion"), choices=_pairs(OCCASION_LABELS))
    what = StringField(_l("What was said or given"),
                       validators=[DataRequired(), Length(max=column_length(CareGesture.what))])
    given_on = DateField(_l("Given on"), validators=[DataRequired()])
    member_day_id = SelectField(_l("Member day"), coerce=optional_int, validate_choice=False)


class MemberDayForm(FlaskForm):
    team_id = SelectField(_l("Team"), coerce=optional_int, validate_choice=False,
                          validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(),
                                               Length(max=column_length(MemberDay.name))])
    day_of_month = IntegerField(_l("Day of the month"),
                                validators=[DataRequired(), NumberRange(min=1, max=28)])
    offer = TextAreaField(_l("What is offered"), validators=[DataRequired(), Length(max=2000)])
    tiers = SelectMultipleField(_l("Tiers it reaches"), choices=_pairs(TIER_LABELS),
                                validators=[DataRequired()])


class VoiceSettingsForm(FlaskForm):
    high_hours = IntegerField(_l("High severity: hours to answer"),
                              validators=[DataRequired(), NumberRange(min=1, max=720)])
    normal_hours = IntegerField(_l("Normal severity: hours to answer"),
                                validators=[DataRequired(), NumberRange(min=1, max=720)])
    low_days = IntegerField(_l("Low severity: days to answer"),
                            validators=[DataRequired(), NumberRange(min=1, max=60)])
    survey_scale = SelectField(_l("Survey scale"), choices=_pairs(SCALE_LABELS))
    survey_days = IntegerField(_l("Survey links expire after (days)"),
                               validators=[DataRequired(), NumberRange(min=1, max=90)])
    low_score_stars = IntegerField(_l("A score of 1–5 at or below this opens a complaint"),
                                   validators=[DataRequired(), NumberRange(min=1, max=5)])
    low_score_nps = IntegerField(_l("A score of 0–10 at or below this opens a complaint"),
                                 validators=[Optional(), NumberRange(min=0, max=10)])
    silent_days = IntegerField(_l("Key customers are silent after (days)"),
                               validators=[DataRequired(), NumberRange(min=7, max=365)])


class AnswerForm(FlaskForm):
    """The public survey: no session, so no CSRF token of the usual kind (see surveys)."""

    class Meta:
        csrf = False

    score = RadioField(coerce=int, validate_choice=False,
                       validators=[InputRequired(message=_l("Choose a score."))])
    comment = TextAreaField(_l("Anything you would like to tell us? (optional)"),
                            validators=[Optional(), Length(max=2000)])
    # Stateless: signed for this survey, checked by crm.voice.surveys.form_token_matches.
    csrf_token = HiddenField()
