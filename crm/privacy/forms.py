"""Forms of the data-rights pages and the audit trail's filters."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.audit.models import AuditAction
from crm.columns import column_length
from crm.forms import VersionedForm, choices, optional_int
from crm.params import INT_MAX
from crm.privacy.models import (
    MIN_AUDIT_DAYS,
    MIN_RECORDING_DAYS,
    REQUEST_KIND_LABELS,
    REQUEST_STATUS_LABELS,
    LegalHold,
)

REASON_MAX = 300
OUTCOME_MAX = 4000


class DataRequestForm(FlaskForm):
    kind = SelectField(_l("Kind of request"),
                       choices=choices([(k.value, v) for k, v in REQUEST_KIND_LABELS.items()]))
    customer_id = IntegerField(
        _l("Customer number"), validators=[DataRequired(), NumberRange(min=1, max=INT_MAX)],
        description=_l("The number in the customer card's address: /customers/123."))
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    due_on = DateField(_l("Answer due by"), validators=[Optional()],
                       description=_l("Left empty: 15 days after it was received."))


class DataRequestUpdateForm(VersionedForm):
    status = SelectField(_l("Status"), choices=choices(
        [(k.value, v) for k, v in REQUEST_STATUS_LABELS.items()]))
    handler_id = SelectField(_l("Handled by"), coerce=optional_int, validate_choice=False)
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=OUTCOME_MAX)])


class EraseForm(FlaskForm):
    confirm = StringField(_l("Type the customer number to confirm"),
                          validators=[DataRequired()])
    reason = TextAreaField(_l("Why the data is erased"),
                           validators=[DataRequired(), Length(max=REASON_MAX)])


class HoldForm(FlaskForm):
    reason = StringField(_l("Reason for the legal hold"),
                         validators=[DataRequired(), Length(max=column_length(LegalHold.reason))])


class RetentionForm(VersionedForm):
    recording_days = IntegerField(
        _l("Keep recordings for (days after the visit)"),
        validators=[DataRequired(), NumberRange(min=MIN_RECORDING_DAYS, max=36500)])
    audit_days = IntegerField(
        _l("Keep audit events for (days)"),
        validators=[DataRequired(), NumberRange(min=MIN_AUDIT_DAYS, max=36500)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = SelectField(_l("Person"), coerce=optional_int, validate_choice=False)
    customer = IntegerField(_l("Customer number"),
                            validators=[Optional(), NumberRange(min=1, max=INT_MAX)])
    action = SelectField(_l("Action"), validate_choice=False)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from crm.audit.labels import ACTION_LABELS

        self.action.choices = choices([("", _l("All actions"))] + [
            (a.value, ACTION_LABELS[a]) for a in AuditAction])
