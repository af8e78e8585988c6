"""Setting, changing, splitting and locking goals."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from crm.forms import VersionedForm, choices, optional_int
from crm.goals.models import PERIOD_LABELS


def _target():
    return DecimalField(_l("Target"), places=2,
                        validators=[InputRequired(), NumberRange(min=0, max=999_999_999_999)])


class GoalForm(FlaskForm):
    team_id = HiddenField()
    metric = SelectField(_l("What it counts"), validate_choice=False)
    user_id = SelectField(_l("For"), coerce=optional_int, validate_choice=False)
    period = SelectField(_l("Period"), choices=choices([(p.value, label)
                                                       for p, label in PERIOD_LABELS.items()]))
    start = DateField(_l("A day in the period"), validators=[DataRequired()])
    target = _target()


class TargetForm(VersionedForm):
    target = _target()


class SplitForm(FlaskForm):
    mode = SelectField(_l("How to split"), choices=choices([
        ("equal", _l("Equally")), ("weights", _l("By the weights below"))]), default="equal")


class LockForm(FlaskForm):
    team_id = HiddenField()
    period = HiddenField()
    start = HiddenField()
    locked = HiddenField()
