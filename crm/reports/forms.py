"""Asking for a report."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import DataRequired

from crm.forms import choices
from crm.reports.models import KIND_LABELS


class RequestForm(FlaskForm):
    team_id = SelectField(_l("Team"), coerce=int, validate_choice=False)
    kind = SelectField(_l("Report"), choices=choices([(k.value, label)
                                                      for k, label in KIND_LABELS.items()]),
                       default="weekly")
    day = DateField(_l("A day in the period"), validators=[DataRequired()])
