"""Today: the page every user lands on. Areas add their sections as they arrive."""

from flask import Blueprint
from flask_login import current_user, login_required

from crm import access
from crm.clock import utcnow
from crm.customers import pool
from crm.htmx import render_page

bp = Blueprint("today", __name__)


@bp.get("/")
@login_required
def index():
    expiring = pool.expiring_soon(current_user) if access.may_claim(current_user) else []
    return render_page("today/index.html", now=utcnow(), user=current_user, expiring=expiring,
                       days_left=pool.days_left)
