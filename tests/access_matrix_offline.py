"""Access-matrix rows for offline logging (issue 13): the service worker and manifest (public,
they carry no data), the waiting page, and chunked recording uploads.

An upload in flight belongs to the person who started it: everyone else gets 404 for it
(tests/test_recordings_resumable.py checks that per role on a real upload); here an unknown
upload id is 404 for every signed-in role.
"""

from tests.access_matrix import Route, everyone, signed_in
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
]
