"""The service worker (at the root, so it looks after every page), the web app manifest,
and the page listing what waits on this phone to be sent."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, jsonify, url_for
from flask_babel import gettext as _
from flask_login import login_required

from crm.htmx import render_page

bp = Blueprint("offline", __name__)

# What the service worker keeps for offline use (beside Today, the log forms and /offline).
SHELL_ASSETS = ("app.css", "app.js", "offline.js", "icons.svg", "favicon.svg")


@lru_cache(maxsize=4)
def _service_worker(static_folder: str, assets: tuple[str, ...], waiting_page: str) -> str:
    folder = Path(static_folder)
    source = (folder / "sw.js").read_text()
    digest = hashlib.sha256(source.encode())
    for name in SHELL_ASSETS:
        digest.update((folder / name).read_bytes())
    return (source.replace("__VERSION__", digest.hexdigest()[:16])
            .replace("__ASSETS__", json.dumps(list(assets)))
            .replace("__WAITING_PAGE__", waiting_page))


@bp.get("/sw.js")
def service_worker():
    assets = tuple(url_for("static", filename=name) for name in SHELL_ASSETS)
    body = _service_worker(current_app.static_folder, assets, url_for("offline.index"))
    response = current_app.response_class(body, mimetype="text/javascript")
    # The browser checks for a new worker on every visit; the worker itself keeps the rest.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    response = jsonify({
        "name": _("Field CRM"),
        "short_name": _("Field CRM"),
        "start_url": url_for("today.index"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0f766e",
        "icons": [
            {"src": url_for("static", filename="icon-192.png"), "sizes": "192x192",
             "type": "image/png"},
            {"src": url_for("static", filename="icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any maskable"},
            {"src": url_for("static", filename="favicon.svg"), "sizes": "any",
             "type": "image/svg+xml"},
        ],
    })
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/offline")
@login_required
def index():
    """Saved on this phone, waiting to be sent: the script fills the list from IndexedDB.
    Also what the service worker shows for a page that needs the server when offline."""
    return render_page("offline/index.html")
