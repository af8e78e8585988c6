"""Forms of the review page and the rubric editor."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.forms import VersionedForm, choices
from crm.reviews.models import COMMENT_KIND_LABELS


class CommentForm(FlaskForm):
    at = StringField(_l("At (minutes:seconds)"), validators=[Length(max=12)],
                     render_kw={"inputmode": "decimal", "placeholder": "0:00",
                                "autocomplete": "off"})
    kind = SelectField(_l("Kind"), choices=choices(
        (kind.value, label) for kind, label in COMMENT_KIND_LABELS.items()))
    body = TextAreaField(_l("Comment"), validators=[Length(max=2000)], render_kw={"rows": 2})


class SummaryForm(VersionedForm):
    # Its own id: the card around it is #summary (the page's anchor and htmx's target).
    summary = TextAreaField(_l("Summary"), validators=[Length(max=4000)], render_kw={"rows": 4},
                            id="summary-text")


class ScoreForm(FlaskForm):
    """One rubric item's score, saved as the manager picks it (the page sends the CSRF
    token as a header, which the app-wide check reads)."""

    item = StringField()
    score = IntegerField(validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, meta={"csrf": False}, **kwargs)


class ActionForm(FlaskForm):
    text = StringField(_l("Improvement action"), validators=[Length(max=300)])
    recheck_on = DateField(_l("Re-check on"), validators=[Optional()])


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Your reply"), validators=[DataRequired(message=_l(
        "Write your reply.")), Length(max=2000)], render_kw={"rows": 2})


def read_rubric_form(formdata, keys) -> tuple[list[dict], dict[str, str]]:
    """The rubric editor's fields as version items, and a message per field left empty."""
    items, errors = [], {}
    for key in keys:
        label = (formdata.get(f"{key}-label") or "").strip()[:80]
        if not label:
            errors[f"{key}-label"] = str(_l("Give the item a name."))
        levels = []
        for score in range(1, 6):
            name = f"{key}-level-{score}"
            text = (formdata.get(name) or "").strip()[:200]
            if not text:
                errors[name] = str(_l("Describe this level in one line."))
            levels.append(text)
        items.append({"key": key, "label": label, "levels": levels})
    return items, errors
