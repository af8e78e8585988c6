"""The application factory: configuration, extensions, blueprints and CLI in one place."""

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from crm import config as config_module
from crm.extensions import babel, csrf, db, login_manager, migrate
from crm.uploads import CRMRequest


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(config_module.PROJECT_ROOT / "templates"),
        static_folder=str(config_module.PROJECT_ROOT / "static"),
        instance_path=str(config_module.instance_dir()),
    )
    app.request_class = CRMRequest
    app.config.update(config_module.from_environment())
    if overrides:
        app.config.update(overrides)
    if app.config["TRUST_PROXY_HEADERS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_cli(app)
    return app


# Every area's models, so that the metadata (and Alembic's autogenerate) sees all tables.
MODEL_MODULES = (
    "crm.accounts.models",
    "crm.customers.models",
    "crm.audit.models",
    "crm.followups.models",
    "crm.recordings.models",
    "crm.pipeline.models",
    "crm.reviews.models",
    "crm.notifications.models",
    "crm.routing.models",
    "crm.goals.models",
    "crm.reports.models",
    "crm.checkins.models",
    "crm.reminders.models",
    "crm.voice.models",
    "crm.privacy.models",
    "crm.system.models",
)

# Each area's part of a customer's export and erasure: importing one registers its section
# in crm.privacy.export.SECTIONS and its eraser in crm.privacy.erasure.ERASERS.
PRIVACY_MODULES = (
    "crm.voice.privacy",
    "crm.reminders.privacy",
    "crm.checkins.privacy",
    "crm.routing.privacy",
    "crm.followups.privacy",
    "crm.customers.privacy",
)


def _init_extensions(app: Flask) -> None:
    import importlib

    for module in MODEL_MODULES:
        importlib.import_module(module)
    for module in PRIVACY_MODULES:
        importlib.import_module(module)

    from crm import errors, security, static_files
    from crm.accounts.views import signed_in_user
    from crm.customers.search import in_the_models
    from crm.i18n import compile_catalogs, select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True,
                     include_name=in_the_models)
    csrf.init_app(app)
    compile_catalogs(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "basic"
    login_manager.user_loader(signed_in_user)
    login_manager.unauthorized_handler(_send_to_login)

    errors.init_app(app)
    security.init_app(app)
    static_files.init_app(app)

    @app.before_request
    def _require_password_change():
        # After an admin reset, the temporary password opens only the change-password page.
        if (current_user.is_authenticated and current_user.must_change_password
                and request.endpoint not in {"accounts.password", "accounts.update_password",
                                             "accounts.logout", "static", "system.healthz",
                                             "system.readyz", "accounts.set_locale"}):
            return redirect(url_for("accounts.password"))
        return None


def _send_to_login():
    """Signed out (or the session ended elsewhere): go to the sign-in page, then come back.

    An htmx request gets HX-Redirect, so the whole page moves instead of the login form
    being swapped into a fragment's place.
    """
    from crm.htmx import redirect_after_post
    from crm.navigation import here_url

    target = url_for("accounts.login", next=here_url())
    if request.headers.get("HX-Request") == "true":
        return redirect_after_post(target)
    return redirect(target)


def _register_blueprints(app: Flask) -> None:
    from crm.accounts.views import bp as accounts_bp
    from crm.admin.views import bp as admin_bp
    from crm.audit.views import bp as audit_bp
    from crm.checkins.views import bp as checkins_bp
    from crm.customers.office_views import bp as customer_office_bp
    from crm.customers.views import bp as customers_bp
    from crm.dashboard.views import bp as dashboard_bp
    from crm.followups.views import bp as followups_bp
    from crm.goals.views import bp as goals_bp
    from crm.offline.views import bp as offline_bp
    from crm.pipeline.views import bp as pipeline_bp
    from crm.privacy.views import bp as privacy_bp
    from crm.recordings.resumable_views import bp as uploads_bp
    from crm.recordings.views import bp as recordings_bp
    from crm.reminders.views import bp as reminders_bp
    from crm.reports.views import bp as reports_bp
    from crm.reviews.views import bp as reviews_bp
    from crm.routing.views import bp as routing_bp
    from crm.routing.views import public as leads_bp
    from crm.system.views import bp as system_bp
    from crm.today.views import bp as today_bp
    from crm.voice.public_views import bp as survey_public_bp
    from crm.voice.views import bp as voice_bp

    for blueprint in (
        accounts_bp,
        today_bp,
        customers_bp,
        customer_office_bp,
        followups_bp,
        recordings_bp,
        pipeline_bp,
        reviews_bp,
        admin_bp,
        system_bp,
        routing_bp,
        leads_bp,
        dashboard_bp,
        goals_bp,
        reports_bp,
        uploads_bp,
        offline_bp,
        checkins_bp,
        reminders_bp,
        voice_bp,
        survey_public_bp,
        audit_bp,
        privacy_bp,
    ):
        app.register_blueprint(blueprint)


def _register_template_helpers(app: Flask) -> None:
    from flask_babel import format_date, format_datetime
    from flask_wtf.csrf import generate_csrf

    from crm import access
    from crm.accounts.models import ROLE_LABELS
    from crm.i18n import LANGUAGE_NAMES, current_locale
    from crm.navigation import here_url, inject_navigation

    app.context_processor(inject_navigation)

    # Globals, not a context processor, so that imported macros see them too.
    app.jinja_env.globals.update(
        csrf_token=generate_csrf, language_names=LANGUAGE_NAMES, role_label=ROLE_LABELS.get,
        current_locale=current_locale, here_url=here_url,
        # Templates ask the same predicates as views (access.may_transfer(current_user)).
        access=access)

    @app.template_global()
    def url_with(**changes):
        """This page's URL with some query arguments replaced (filters, "load more")."""
        args = request.args.to_dict()
        args.update(changes)
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    # English "short" dates read 12/8/26, which half the world reads as August: English gets
    # the month's name instead; Chinese short dates (2026/12/8) are already unambiguous.
    unambiguous_short = {"date": "d MMM y", "datetime": "d MMM y, HH:mm"}

    def _pattern(kind: str, fmt: str) -> str:
        return unambiguous_short[kind] if fmt == "short" and current_locale() == "en" else fmt

    # Shown in the user's time zone and language; stored values are UTC.
    @app.template_filter("datetime")
    def _datetime(value, fmt="medium"):
        return format_datetime(value, _pattern("datetime", fmt)) if value else ""

    @app.template_filter("duration")
    def _duration(seconds):
        """A recording's length as a player shows it: 4:05, or 1:02:07."""
        if seconds is None:
            return ""
        minutes, secs = divmod(round(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

    @app.template_filter("date")
    def _date(value, fmt="medium"):
        return format_date(value, _pattern("date", fmt)) if value else ""


def _register_cli(app: Flask) -> None:
    from crm.cli import register_commands

    register_commands(app)
