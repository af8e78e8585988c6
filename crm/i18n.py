"""Which language and time zone a request is served in, and the compiled catalogs."""

import logging
import os
from pathlib import Path

from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

LOCALE_COOKIE = "crm_lang"
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def supported(locale: str | None) -> str | None:
    return locale if locale in current_app.config["LANGUAGES"] else None


def select_locale() -> str:
    """The user's setting, then the switch's cookie, then the browser's preference."""
    if not has_request_context():  # CLI and worker jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and supported(current_user.locale):
        return current_user.locale
    chosen = supported(request.cookies.get(LOCALE_COOKIE))
    if chosen:
        return chosen
    # Browsers say zh-CN or zh; map both to the catalog we have.
    offered = {"zh_CN": "zh_CN", "zh": "zh_CN", "en": "en"}
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best:
        return offered[best.replace("-", "_")]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    """The request's language as one of LANGUAGES (Babel itself says zh_Hans_CN)."""
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def select_timezone() -> str:
    if not has_request_context():
        return current_app.config["DEFAULT_TIMEZONE"]
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def compile_catalogs(translations_dir) -> None:
    """Compile each .po into the .mo Flask-Babel reads, when missing or older than its .po."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(translations_dir).glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp_path = mo_path.with_suffix(f".mo.{os.getpid()}")
        try:
            with tmp_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            tmp_path.replace(mo_path)  # atomic: parallel starts never read half a file
        except OSError as error:
            # A read-only install must compile at build time (`pybabel compile`); say so.
            logging.getLogger(__name__).warning("cannot compile %s: %s", po_path, error)
