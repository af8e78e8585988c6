"""Forms for signing in and for the user's own account."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from crm.accounts.passwords import check_password_policy
from crm.clock import is_valid_timezone, timezone_choices
from crm.errors import DomainError
from crm.forms import EMAIL_SHAPE, LOCALE_CHOICES, choices


def meets_password_policy(form, field) -> None:
    """The password rule as a form validator: the very check the account functions make."""
    try:
        check_password_policy(field.data)
    except DomainError as error:
        raise ValidationError(error.message) from None


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), EMAIL_SHAPE])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me signed in on this device"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), meets_password_policy])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))])


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"),
                         choices=choices([("", _l("As my browser says")), *LOCALE_CHOICES]))
    timezone = SelectField(_l("Time zone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = choices(timezone_choices())

    def validate_timezone(self, field):
        if not is_valid_timezone(field.data or ""):
            raise ValidationError(_l("Unknown time zone."))
