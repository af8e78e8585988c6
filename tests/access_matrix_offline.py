"""Access-matrix rows for offline logging (issue 13): the service worker and manifest (public,
they carry no data), the waiting page, and chunked recording uploads.

An upload in flight belongs to the person who started it: everyone else gets 404 for it
(tests/test_recordings_resumable.py checks that per role on a real upload); here an unknown
upload id is 404 for every signed-in role.
"""

from tests.access_matrix import TO_LOGIN, Route, everyone, signed_in
from tests.access_matrix_customers import SEES_REPS_CUSTOMER


def _with(base: dict, ok: int) -> dict:
    return {role: (ok if status == 200 else status) for role, status in base.items()}


OFFLINE_ROUTES = [
    Route("GET", "/sw.js", everyone(200)),
    Route("GET", "/manifest.webmanifest", everyone(200)),
    Route("GET", "/offline", signed_in(200)),
    Route("POST", "/follow-ups/<int:follow_up_id>/uploads", _with(SEES_REPS_CUSTOMER, 201),
          url=lambda w: f"/follow-ups/{w.ride_along}/uploads",
          data=lambda w: {"size": "1000", "consent": "y"}),
    Route("GET", "/uploads/<upload_id>", signed_in(404), url=lambda w: "/uploads/nosuchupload"),
    Route("POST", "/uploads/<upload_id>/chunks", signed_in(404),
          url=lambda w: "/uploads/nosuchupload/chunks?offset=0"),
    Route("POST", "/uploads/<upload_id>/discard", signed_in(404),
          url=lambda w: "/uploads/nosuchupload/discard"),
    # Check-ins: made on customers one may log on; a day is its person's and their managers'.
    Route("POST", "/customers/<int:customer_id>/check-ins", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/customers/{w.customers.rep}/check-ins",
          data=lambda w: {"latitude": "31.2304", "longitude": "121.4737", "accuracy": "20"}),
    Route("POST", "/check-ins/<int:check_in_id>/check-out", signed_in(404),
          url=lambda w: "/check-ins/999999/check-out"),
    Route("GET", "/check-ins",
          {"anonymous": TO_LOGIN, "rep": 200, "rep2": 404, "manager": 200,
           "region_manager": 200, "rep3": 404, "manager2": 404, "office": 404, "admin": 200},
          url=lambda w: f"/check-ins?person={w.rep.id}"),
]
