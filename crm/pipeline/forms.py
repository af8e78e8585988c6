"""The deal form, the move control on a card, and a manager's review note."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.forms import VersionedForm, choices
from crm.pipeline.models import BOARD_STAGES, GRADE_LABELS, STAGE_LABELS

STAGE_CHOICES = [(s.value, STAGE_LABELS[s]) for s in BOARD_STAGES]
GRADE_CHOICES = [(g.value, label) for g, label in GRADE_LABELS.items()]


def _amount():
    return DecimalField(_l("Amount (¥)"), places=2,
                        validators=[Optional(), NumberRange(min=0, max=999_999_999_999)])


class DealForm(VersionedForm):
    title = StringField(_l("What is being sold"), validators=[DataRequired(), Length(max=200)])
    grade = SelectField(_l("Grade"), choices=choices(GRADE_CHOICES), default="C")
    stage = SelectField(_l("Stage"), choices=choices(STAGE_CHOICES), default="inquiry")
    amount = _amount()
    expected_close = DateField(_l("Expected to sign on"), validators=[Optional()],
                               description=_l("Left empty, the grade's window decides."))
    reason = StringField(_l("Why it was lost"), validators=[Optional(), Length(max=300)])


class MoveForm(VersionedForm):
    stage = SelectField(_l("Move to"), choices=choices(STAGE_CHOICES))
    amount = _amount()
    reason = StringField(_l("Why it was lost"), validators=[Optional(), Length(max=300)])
    back = HiddenField()


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Note for the rep"), validators=[Optional(), Length(max=2000)])
    back = HiddenField()
