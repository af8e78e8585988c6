"""The one way a request runs a domain change: the request owns the transaction.

Domain functions never commit or roll back. A view hands its change to `save_form` (a form
with fields) or `run_change` (a button), which commits on success and answers the same way
everywhere when a rule refuses it or someone else saved first.
"""

from collections.abc import Callable

from flask import flash
from sqlalchemy.orm.exc import StaleDataError

from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.forms import show_domain_error
from crm.htmx import form_error_status, is_fragment_request, redirect_after_post

STALE = (StaleEdit, StaleDataError)


def stale_status() -> int:
    # htmx 2 does not swap 4xx responses; a plain post gets the honest 409 Conflict.
    return 200 if is_fragment_request() else 409


def save_form(form, change: Callable[[], object], *, page: Callable[..., object],
              done: Callable[[object], object], saved=None,
              refused: Callable[[DomainError], dict] | None = None):
    """Validate `form`, run `change()`, and answer.

    Invalid input or a refused rule: roll back, put the messages on the form and re-render
    with what was typed, `page(status=200 for htmx, 422 otherwise, **refused(error))`.
    A stale edit: roll back and `page(status=409, stale=True)`; the form then carries the
    saved version of `saved` (a versioned object), so saving again replaces it. Success:
    commit and return `done(result)`.
    """
    if form.validate_on_submit():
        try:
            result = change()
            db.session.commit()
        except STALE:
            db.session.rollback()
            form.form_errors.append(StaleEdit().message)
            if saved is not None:
                # The rollback expired it: reading the version loads the one saved meanwhile.
                form.version.data = saved.version
            return page(status=stale_status(), stale=True)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
            return page(status=form_error_status(), **(refused(error) if refused else {}))
        return done(result)
    return page(status=form_error_status())


def run_change(change: Callable[[], object], *, done: Callable[[object], object],
               refused_url: str | Callable[[], str]):
    """A button's change (no fields to re-render): commit and `done(result)`, or roll back,
    flash why it was refused and go to `refused_url`."""
    try:
        result = change()
        db.session.commit()
    except (*STALE, DomainError) as error:
        db.session.rollback()
        message = error.message if isinstance(error, DomainError) else StaleEdit().message
        flash(message, "error")
        return redirect_after_post(refused_url() if callable(refused_url) else refused_url)
    return done(result)


def saved_and_go(url: str, message=None):
    """The usual success: say what happened (when there is something to say) and go on."""
    if message:
        flash(message, "success")
    return redirect_after_post(url)
