"""The survey a customer answers from a link, without signing in.

    GET  /s?t=<token>   the question (1–5 or 0–10) and a comment, in the browser's language
    POST /s?t=<token>   the answer, once

The token rides in the query string, which the access log leaves out (it is a key to the
survey, and logs keep no secrets).

These pages set no cookie and read no session; a signed-in colleague gets 403 (a survey is
the customer's to answer). Every way a link can be wrong answers the same 404 page, so none
tells whether another link exists. Requests are rate limited per address; pages are
`noindex`, never cached, send no referrer, and keep the app's strict CSP.
"""

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from crm.errors import CSRF_TEXT, ERROR_TEXTS, ERROR_TITLES
from crm.extensions import csrf, db
from crm.voice.forms import AnswerForm
from crm.voice.models import SCALE_RANGES, SurveyScale
from crm.voice.surveys import (
    answer_survey,
    form_token_for,
    form_token_matches,
    survey_for_token,
)
from crm.voice.throttle import over_limit

bp = Blueprint("survey_public", __name__)
csrf.exempt(bp)


def _respond(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    headers = response.headers
    headers["X-Robots-Tag"] = "noindex, nofollow"
    headers["Cache-Control"] = "no-store"
    headers["Referrer-Policy"] = "no-referrer"  # the token never leaves in a Referer
    return response


def _error(error):
    code = error.code or 500
    text = CSRF_TEXT if isinstance(error, CSRFError) else ERROR_TEXTS.get(code)
    if code == 404:
        return _respond("voice/public_gone.html", 404)
    return _respond("voice/public_error.html", code, title=ERROR_TITLES.get(code),
                    description=text)


# By code: the app's own handlers per code would otherwise win over a handler of a class,
# and they render the signed-in layout (which sets a session cookie).
for _code in (400, 403, 404, 405, 413, 429, 500):
    bp.register_error_handler(_code, _error)


@bp.before_request
def _visitors_only():
    if over_limit(request.remote_addr or "unknown"):
        abort(429)
    if request.method == "POST" and not form_token_matches(request.form.get("csrf_token")):
        raise CSRFError()
    if current_user.is_authenticated:
        abort(403)


def _page(survey, form, status=200):
    return _respond("voice/public_survey.html", status, survey=survey, form=form,
                    scores=list(SCALE_RANGES[survey.scale]),
                    nps=survey.scale == SurveyScale.NPS, form_token=form_token_for(survey))


@bp.get("/s")
def show():
    token = request.args.get("t", "")
    survey = survey_for_token(token)
    if survey is None:
        abort(404)
    return _page(survey, AnswerForm())


@bp.post("/s")
def answer():
    token = request.args.get("t", "")
    form = AnswerForm()
    survey = survey_for_token(token)
    if survey is None or not form_token_matches(form.csrf_token.data, survey.id):
        abort(404)
    if not form.validate() or form.score.data not in SCALE_RANGES[survey.scale]:
        if not form.score.errors:
            form.score.errors = list(form.score.errors) + [_("Choose a score.")]
        return _page(survey, form, 422)
    if not answer_survey(survey, form.score.data, form.comment.data):
        db.session.rollback()
        abort(404)
    db.session.commit()
    return _respond("voice/public_thanks.html")
