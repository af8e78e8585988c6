"""Health probes for load balancers and the admins' System page."""

from flask import Blueprint, flash, url_for
from flask_babel import gettext as _

from crm import access
from crm.htmx import redirect_after_post, render_page
from crm.system import status as system_status

bp = Blueprint("system", __name__)

@bp.get("/healthz")
def healthz():
    """The process is up and serving; checks nothing else, so it stays cheap."""
    return {"status": "ok"}

@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers. Every page works without Redis (uploads and
    jobs catch up once it is back), so Redis down is reported here but does not take the
    site out of a load balancer."""
    database, redis = system_status.database_ok(), system_status.redis_ok()
    body = {"status": "ok" if database else "unavailable",
            "database": "ok" if database else "down", "redis": "ok" if redis else "down"}
    return body, 200 if database else 503

@bp.get("/system")
@access.requires(access.may_administer)
def index():
    from crm.reminders.delivery import troubled
    from crm.reminders.models import CHANNEL_LABELS, DELIVERY_STATUS_LABELS

    return render_page("system/index.html", "system/_status.html",
                       system=system_status.collect(),
                       worker_states=system_status.WORKER_STATES,
                       deliveries=troubled(), channel_labels=CHANNEL_LABELS,
                       delivery_states=DELIVERY_STATUS_LABELS)

@bp.post("/system/jobs/<queue_name>/<job_id>/retry")
@access.requires(access.may_administer)
def retry_job(queue_name: str, job_id: str):
    if system_status.retry_failed_job(queue_name, job_id):
        flash(_("The job is queued again."), "success")
    else:
        flash(_("That job is no longer in the failed list."), "error")
    return redirect_after_post(url_for("system.index"))
