"""The recording upload form: the audio and, when the card does not record it, consent."""

from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from crm.recordings.attaching import CONSENT_NEEDED


class RecordingForm(FlaskForm):
    consent_needed = CONSENT_NEEDED
    audio = FileField(_l("Recording"), validators=[FileRequired(_l("Choose or record the audio."))])
    consent = BooleanField(_l("The customer agreed to be recorded"))


def max_recording_mb() -> str:
    """The size limit as the user reads it: "200", or "0.5" for a small test setting."""
    return format_decimal(round(current_app.config["RECORDING_MAX_BYTES"] / 1024 / 1024, 1))
