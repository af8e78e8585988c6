"""Domain errors that views turn into messages, and the HTTP error pages."""

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError


class DomainError(Exception):
    """A business rule refused the change; `message` is shown to the user as is."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class StaleEdit(DomainError):
    """The object changed since the form was opened; the later save is refused."""

    def __init__(self, message=None):
        super().__init__(message or _l(
            "Someone else saved changes to this record after you opened it. "
            "Review their version below and apply your changes again."))


ERROR_TITLES = {
    400: _l("Bad request"),
    403: _l("You do not have access to this page"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    413: _l("The upload is too large"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
}


ERROR_TEXTS = {
    400: _l("The request could not be understood. Go back, reload the page and try again."),
    403: _l("Your role does not include this page. Ask an administrator if you need it."),
    404: _l("There is nothing here, or it is not yours to see."),
    405: _l("This address does not accept that kind of request."),
    413: _l("The file or form you sent is larger than this server accepts."),
    429: _l("Too many requests in a short time. Wait a moment and try again."),
    500: _l("The error has been logged. Try again in a moment."),
}
CSRF_TEXT = _l("The form had expired or came from elsewhere. Reload the page and submit it again.")


def render_error(error):
    code = getattr(error, "code", 500) or 500
    # Werkzeug's own descriptions are English only; show ours, in the user's language.
    description = CSRF_TEXT if isinstance(error, CSRFError) else ERROR_TEXTS.get(code)
    if request.headers.get("HX-Request"):
        return render_template("errors/_error.html", code=code, title=ERROR_TITLES.get(code),
                               description=description), code
    return render_template("errors/error.html", code=code, title=ERROR_TITLES.get(code),
                           description=description), code


def init_app(app):
    for code in ERROR_TITLES:
        app.register_error_handler(code, render_error)
