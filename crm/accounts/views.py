"""Signing in and out, the user's own account, and the language switch."""

from datetime import timedelta

from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from crm.accounts.forms import LoginForm, PasswordForm, PreferencesForm
from crm.accounts.login import LoginRefused, authenticate
from crm.accounts.sessions import REMEMBER_DAYS, end_session, load_session_user, start_session
from crm.accounts.users import set_password
from crm.errors import DomainError
from crm.extensions import db
from crm.htmx import form_error_status, redirect_after_post, render_page
from crm.i18n import LOCALE_COOKIE, supported
from crm.navigation import safe_next_url
from crm.saving import save_form, saved_and_go

bp = Blueprint("accounts", __name__)


def signed_in_user(token: str):
    """Flask-Login's loader. The session's sliding expiry, when it moves, is committed at
    once as its own small transaction, before the view starts its own."""
    user = load_session_user(token)
    if user is not None and user.session_touched:
        db.session.commit()
    return user


def rotate_csrf_token() -> None:
    """A new CSRF token at sign-in: one learnt before (on a shared computer, in a page
    someone kept) is worth nothing after it."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("today.index"))
    return render_page("accounts/login.html", form=LoginForm(), next=request.args.get("next"))


@bp.post("/login")
def authenticate_login():
    form = LoginForm()
    next_url = request.form.get("next")
    if not form.validate_on_submit():
        return render_page("accounts/login.html", form=form, next=next_url,
                           status=form_error_status())
    try:
        user = authenticate(form.email.data, form.password.data)
    except LoginRefused as refused:
        db.session.commit()  # the failure it counted
        response = render_page("accounts/login.html", form=form, next=next_url,
                               error=refused.message,
                               status=429 if refused.retry_after else form_error_status())
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if user.totp_secret:
        # The password was right; the session starts once the second factor is.
        db.session.commit()
        from crm.accounts.two_factor_views import await_second_factor

        return await_second_factor(user, remember=form.remember.data, next_url=next_url)
    return complete_sign_in(user, remember=form.remember.data, next_url=next_url)


def complete_sign_in(user, *, remember: bool, next_url: str | None):
    """Start the server-side session, rotate the CSRF token, and go on."""
    from crm.accounts.login import client_address
    from crm.accounts.two_factor import required_for
    from crm.audit.log import record
    from crm.audit.models import AuditAction

    start_session(user, remember=remember)
    record(AuditAction.SIGN_IN, user.id, address=client_address())
    enrol = not user.totp_secret and required_for(user)
    db.session.commit()
    rotate_csrf_token()
    login_user(user, remember=remember, duration=timedelta(days=REMEMBER_DAYS))
    if user.must_change_password:
        return redirect_after_post(url_for("accounts.password"))
    if enrol:
        session["enrol_two_factor"] = True
        return redirect_after_post(url_for("accounts.two_factor"))
    return redirect_after_post(safe_next_url(next_url, url_for("today.index")))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        end_session(current_user.session_token)
        db.session.commit()
        logout_user()
    flash(_("You have signed out."), "info")
    return redirect_after_post(url_for("accounts.login"))


@bp.get("/more")
@login_required
def more():
    form = PreferencesForm(locale=current_user.locale or "",
                           timezone=current_user.timezone
                           or current_app.config["DEFAULT_TIMEZONE"])
    return render_page("accounts/more.html", form=form)


@bp.post("/account/preferences")
@login_required
def update_preferences():
    form = PreferencesForm()
    user = current_user._get_current_object()

    def save():
        user.locale = form.locale.data or None
        user.timezone = form.timezone.data

    def saved(_result):
        response = saved_and_go(url_for("accounts.more"), _("Your preferences are saved."))
        if user.locale is None:
            # "As my browser says": the switch's cookie must not keep overriding the browser.
            response.delete_cookie(LOCALE_COOKIE)
        return response

    return save_form(form, save, done=saved,
                     page=lambda status: render_page("accounts/more.html", form=form,
                                                     status=status))


@bp.get("/account/password")
@login_required
def password():
    return render_page("accounts/password.html", form=PasswordForm())


@bp.post("/account/password")
@login_required
def update_password():
    form = PasswordForm()
    user = current_user._get_current_object()
    # Every other device is signed out; this one continues on a fresh session.
    remember = bool(request.cookies.get(current_app.config["REMEMBER_COOKIE_NAME"]))

    def change():
        if not check_password_hash(user.password_hash, form.current_password.data):
            raise DomainError(_("This is not your current password."), field="current_password")
        try:
            set_password(user, form.new_password.data)
        except DomainError as refused:
            raise DomainError(refused.message, field="new_password") from None
        start_session(user, remember=remember)

    def changed(_result):
        login_user(user, remember=remember, duration=timedelta(days=REMEMBER_DAYS))
        return saved_and_go(url_for("today.index"),
                            _("Your password is changed. Other devices have been signed out."))

    return save_form(form, change, done=changed,
                     page=lambda status: render_page("accounts/password.html", form=form,
                                                     status=status))


@bp.post("/locale")
def set_locale():
    """The language switch: a cookie for everyone, and the setting for a signed-in user."""
    locale = supported(request.form.get("locale"))
    back = safe_next_url(request.form.get("next"), url_for("today.index"))
    response = redirect_after_post(back)
    if locale:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return response


from crm.accounts import two_factor_views  # noqa: E402,F401  (its routes are on this bp)
