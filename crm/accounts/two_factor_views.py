"""Two-factor sign-in pages, on the accounts blueprint.

  GET/POST /login/two-factor          the second step of signing in (password already right)
  GET/POST /account/two-factor        enrol: QR code, confirm with a code; recovery codes
  POST     /account/two-factor/disable
  GET/POST /admin/security            require it of managers and administrators
"""

import time

from flask import current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, user_loaded_from_cookie
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from crm import access
from crm.accounts import two_factor as factor
from crm.accounts.login import (
    _count_failure,
    _throttled,
    _throttled_refusal,
    client_address,
)
from crm.accounts.models import User
from crm.accounts.views import bp, complete_sign_in
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.extensions import db
from crm.htmx import form_error_status, redirect_after_post, render_page
from crm.saving import save_form, saved_and_go

PENDING = "two_factor_pending"
PENDING_SECONDS = 300
ENROLLING = "two_factor_secret"


class CodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(max=20)])


class DisableForm(FlaskForm):
    password = PasswordField(_l("Current password"), validators=[DataRequired()])


class SecurityForm(FlaskForm):
    two_factor_for_leads = BooleanField(
        _l("Managers and administrators must sign in with a second factor"))


def await_second_factor(user: User, *, remember: bool, next_url: str | None):
    session[PENDING] = {"user": user.id, "remember": bool(remember), "next": next_url,
                        "at": int(time.time())}
    return redirect_after_post(url_for("accounts.second_factor"))


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get(PENDING) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, {}
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.active or not user.totp_secret:
        return None, {}
    return user, pending


@bp.get("/login/two-factor")
def second_factor():
    user, _pending = _pending_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    return render_page("accounts/second_factor.html", form=CodeForm())


@bp.post("/login/two-factor")
def check_second_factor():
    user, pending = _pending_user()
    if user is None:
        return redirect_after_post(url_for("accounts.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_page("accounts/second_factor.html", form=form,
                           status=form_error_status())
    address = client_address()
    wait = _throttled(user.email, address)
    if wait is not None:
        refused = _throttled_refusal(wait)
        form.code.errors = [refused.message]
        response = render_page("accounts/second_factor.html", form=form, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not factor.second_factor_passes(user, form.code.data):
        _count_failure(user.email, address)
        record(AuditAction.SIGN_IN_FAILED, user.id, address=address, step="two_factor")
        db.session.commit()
        form.code.errors = [_("That code is not right. Type the 6 digits your app shows now.")]
        return render_page("accounts/second_factor.html", form=form,
                           status=form_error_status())
    session.pop(PENDING, None)
    return complete_sign_in(user, remember=pending["remember"], next_url=pending.get("next"))


@bp.before_app_request
def _enrol_first():
    """Someone the setting covers, signed in without a second factor, enrols before
    anything else (the flag is set at sign-in, so ordinary pages cost no query)."""
    cookies = request.cookies
    if (request.endpoint == "static"
            or (current_app.config["SESSION_COOKIE_NAME"] not in cookies
                and current_app.config["REMEMBER_COOKIE_NAME"] not in cookies)):
        return None  # static files stay cacheable (no Vary: Cookie from reading the session)
    # First the user: one restored from the remember cookie gets the flag then (below).
    if not current_user.is_authenticated or not session.get("enrol_two_factor"):
        return None
    if current_user.totp_secret:
        session.pop("enrol_two_factor", None)
        return None
    if request.endpoint in {"accounts.two_factor", "accounts.enable_two_factor",
                            "accounts.logout", "static", "accounts.set_locale",
                            "accounts.password", "accounts.update_password"}:
        return None
    return redirect(url_for("accounts.two_factor"))


def _enrol_page(form=None, status=200):
    user = current_user._get_current_object()
    secret = session.get(ENROLLING)
    if not user.totp_secret and not secret:
        secret = session[ENROLLING] = factor.new_secret()
    uri = factor.provisioning_uri(user, secret) if secret else None
    return render_page("accounts/two_factor.html", form=form or CodeForm(),
                       disable_form=DisableForm(), secret=secret,
                       qr=factor.qr_data_uri(uri) if uri else None,
                       required=factor.required_for(user), codes=None, status=status)


@bp.get("/account/two-factor")
@login_required
def two_factor():
    return _enrol_page()


@bp.post("/account/two-factor")
@login_required
def enable_two_factor():
    user = current_user._get_current_object()
    secret = session.get(ENROLLING)
    form = CodeForm()
    if user.totp_secret or not secret:
        return redirect_after_post(url_for("accounts.two_factor"))
    shown: list = []

    def change():
        shown.extend(factor.enable(user, secret, form.code.data))

    def done(_result):
        session.pop(ENROLLING, None)
        session.pop("enrol_two_factor", None)
        return render_page("accounts/two_factor.html", form=CodeForm(),
                           disable_form=DisableForm(), secret=None, qr=None,
                           required=factor.required_for(user), codes=shown)

    return save_form(form, change, done=done,
                     page=lambda status, **_k: _enrol_page(form, status))


@bp.post("/account/two-factor/disable")
@login_required
def disable_two_factor():
    form = DisableForm()
    user = current_user._get_current_object()
    return save_form(form, lambda: factor.disable(user, form.password.data),
                     done=lambda _r: saved_and_go(url_for("accounts.more"),
                                                  _("Two-factor sign-in is off.")),
                     page=lambda status, **_k: render_page(
                         "accounts/two_factor.html", form=CodeForm(), disable_form=form,
                         secret=None, qr=None, required=factor.required_for(user),
                         codes=None, status=status))


@bp.get("/admin/security")
@access.requires(access.may_administer)
def security():
    form = SecurityForm(two_factor_for_leads=factor.settings().two_factor_for_leads)
    return render_page("accounts/security.html", form=form)


@bp.post("/admin/security")
@access.requires(access.may_administer)
def update_security():
    form = SecurityForm()
    return save_form(
        form, lambda: factor.set_requirement(bool(form.two_factor_for_leads.data),
                                                 current_user._get_current_object()),
        done=lambda _r: saved_and_go(url_for("accounts.security"), _("Saved.")),
        page=lambda status, **_k: render_page("accounts/security.html", form=form,
                                              status=status))


@user_loaded_from_cookie.connect
def _enrol_after_remembered(_app, user=None, **_extra):
    """A session restored from the remember cookie (its session cookie gone) must enrol
    like a signed-in one: the flag is set here, where no password step set it."""
    from crm.accounts.two_factor import required_for

    if user is not None and not user.totp_secret and required_for(user):
        session["enrol_two_factor"] = True
