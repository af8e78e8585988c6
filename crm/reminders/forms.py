"""Forms of the reminders area: a task, snoozing it, and a user's reminder preferences."""

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
    TimeField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from crm.columns import column_length
from crm.forms import VersionedForm, choices, optional_int
from crm.reminders.models import Task


class TaskForm(FlaskForm):
    title = StringField(_l("What is to be done"),
                        validators=[DataRequired(), Length(max=column_length(Task.title))])
    due_on = DateField(_l("Due on"), validators=[DataRequired()])
    due_time = TimeField(_l("At (optional)"), validators=[Optional()])
    assignee_id = SelectField(_l("For"), coerce=optional_int, validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    customer_id = IntegerField(validators=[Optional()], widget=HiddenInput())
    deal_id = IntegerField(validators=[Optional()], widget=HiddenInput())


class SnoozeForm(FlaskForm):
    days = SelectField(_l("Snooze for"), coerce=int, choices=choices(
        [(1, _l("1 day")), (3, _l("3 days")), (7, _l("a week"))]))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


WEEKDAYS = [(1, _l("Monday")), (2, _l("Tuesday")), (3, _l("Wednesday")), (4, _l("Thursday")),
            (5, _l("Friday")), (6, _l("Saturday")), (7, _l("Sunday"))]


class PreferencesForm(VersionedForm):
    digest_enabled = BooleanField(_l("Send me a morning e-mail digest"))
    digest_time = TimeField(_l("Digest time (your time zone)"), validators=[DataRequired()])
    digest_kinds = CheckboxesField(_l("What the digest includes"), validate_choice=False)
    quiet_days = CheckboxesField(_l("No digest on"), coerce=int,
                                 choices=choices(WEEKDAYS), validate_choice=False)
