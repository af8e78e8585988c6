"""Form pieces every area shares."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Regexp

from crm.params import int_arg

# Deliberately plain: internal addresses such as name@demo.local must pass.
EMAIL_SHAPE = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address."))

LOCALE_CHOICES = [("zh_CN", "简体中文"), ("en", "English")]


def show_domain_error(form, error) -> None:
    """Put a refused rule's message on the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        form.form_errors.append(error.message)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the option objects WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def optional_int(value):
    """Coerce a select's value to an int, with the empty option meaning None. A number no
    id can be (unicode digits, beyond a database integer) is an invalid choice."""
    if value in (None, "", "None"):
        return None
    if isinstance(value, int):
        return value
    number = int_arg({"value": value}, "value")
    if number is None:
        raise ValueError("not an id")
    return number


class VersionedForm(FlaskForm):
    """A form that edits a versioned record: the version it was opened at travels with it,
    so a save over someone else's newer one is refused (see crm.saving)."""

    version = HiddenField()

    def opened_version(self) -> int:
        """The record's version when the form was opened; garbage counts as stale."""
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return -1
