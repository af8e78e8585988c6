"""Access-matrix rows for customers: the card, the lists, the pool and transfers.

Whose customer is whose: rep, rep2 and their manager are one team (sh1); region_manager leads
the region above sh1 and hz; rep3 and manager2 are another region; office and admin see all.
"""

import io

from crm.recordings.samples import write_sample
from tests.access_matrix import TO_LOGIN, Route, signed_in

# Who sees the rep's customer (owned by rep, in sh1).
SEES_REPS_CUSTOMER = {"anonymous": TO_LOGIN, "rep": 200, "rep2": 404, "manager": 200,
                      "region_manager": 200, "rep3": 404, "manager2": 404, "office": 200,
                      "admin": 200}


def _with(base: dict, ok: int) -> dict:
    """The same visibility, with `ok` where the base says 200."""
    return {role: (ok if status == 200 else status) for role, status in base.items()}


def _rep_customer(w) -> str:
    return f"/customers/{w.customers.rep}"


# Follow-ups: logged on customers one may edit; lists of one's own; notes by companions.
FOLLOW_UP_ROUTES = [
    Route("GET", "/customers/<int:customer_id>/follow-ups/new", SEES_REPS_CUSTOMER,
          url=lambda w: f"{_rep_customer(w)}/follow-ups/new"),
    Route("POST", "/customers/<int:customer_id>/follow-ups", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"{_rep_customer(w)}/follow-ups",
          data=lambda w: {"kind": "visit", "occurred_at": "2026-01-05T10:30",
                          "summary": "上门拜访，介绍了新产品"}),
    Route("GET", "/follow-ups/new", signed_in(200)),
    Route("GET", "/follow-ups", signed_in(200)),
    Route("GET", "/follow-ups/ride-alongs", signed_in(200)),
    Route("POST", "/follow-ups/<int:follow_up_id>/companion-notes",
          {"anonymous": TO_LOGIN, "rep": 404, "rep2": 404, "manager": 303,
           "region_manager": 404, "rep3": 404, "manager2": 404, "office": 404, "admin": 404},
          url=lambda w: f"/follow-ups/{w.ride_along}/companion-notes",
          data=lambda w: {"notes": "开场不错，需求挖掘不够"}),
]


def _audio_upload(world) -> dict:
    sample = write_sample(world.scratch / "matrix.ogg", "ogg", seconds=0.5)
    return {"audio": (io.BytesIO(sample.read_bytes()), "visit.ogg"), "consent": "y"}


# Recordings: added by those who may log on the customer; heard by those who see it.
RECORDING_ROUTES = [
    Route("GET", "/follow-ups/<int:follow_up_id>/recordings/new", SEES_REPS_CUSTOMER,
          url=lambda w: f"/follow-ups/{w.ride_along}/recordings/new"),
    Route("POST", "/follow-ups/<int:follow_up_id>/recordings", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/follow-ups/{w.ride_along}/recordings", data=_audio_upload),
    Route("GET", "/recordings/<int:recording_id>", SEES_REPS_CUSTOMER,
          url=lambda w: f"/recordings/{w.recording}"),
    Route("GET", "/recordings/<int:recording_id>/audio", SEES_REPS_CUSTOMER,
          url=lambda w: f"/recordings/{w.recording}/audio"),
    Route("GET", "/recordings/<int:recording_id>/original", SEES_REPS_CUSTOMER,
          url=lambda w: f"/recordings/{w.recording}/original"),
    # A ready recording is refused (flash and back to the card): nothing changes.
    Route("POST", "/recordings/<int:recording_id>/retry", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/recordings/{w.recording}/retry"),
]


CUSTOMER_ROUTES: list[Route] = [
    # Before the rows that release the rep's customer to the pool.
    *FOLLOW_UP_ROUTES,
    *RECORDING_ROUTES,
    Route("GET", "/customers", signed_in(200)),
    Route("GET", "/customers/new", signed_in(200)),
    Route("POST", "/customers", signed_in(303),
          data=lambda w: {"kind": "person", "name": "矩阵新客户", "tier": "general",
                          "owner_id": ""}),
    Route("GET", "/customers/<int:customer_id>", SEES_REPS_CUSTOMER, url=_rep_customer),
    Route("GET", "/customers/<int:customer_id>/sections/<section>", SEES_REPS_CUSTOMER,
          url=lambda w: f"{_rep_customer(w)}/sections/basics"),
    Route("GET", "/customers/<int:customer_id>/sections/<section>/edit", SEES_REPS_CUSTOMER,
          url=lambda w: f"{_rep_customer(w)}/sections/profile/edit"),
    Route("POST", "/customers/<int:customer_id>/sections/<section>",
          _with(SEES_REPS_CUSTOMER, 303), url=lambda w: f"{_rep_customer(w)}/sections/profile",
          data=lambda w: {"version": str(w.version_of(w.customers.rep)),
                          "needs": "想要更快的交付"}),
    Route("GET", "/customers/<int:customer_id>/contacts/new", SEES_REPS_CUSTOMER,
          url=lambda w: f"{_rep_customer(w)}/contacts/new"),
    Route("POST", "/customers/<int:customer_id>/contacts", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"{_rep_customer(w)}/contacts",
          data=lambda w: {"name": "采购经理", "phone": "13512345678"}),
    Route("GET", "/customers/<int:customer_id>/contacts/<int:contact_id>/edit",
          SEES_REPS_CUSTOMER, url=lambda w: f"{_rep_customer(w)}/contacts/{w.contact}/edit"),
    Route("POST", "/customers/<int:customer_id>/contacts/<int:contact_id>",
          _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"{_rep_customer(w)}/contacts/{w.contact}",
          data=lambda w: {"name": "王经理", "phone": "13512345679"}),
    Route("POST", "/customers/<int:customer_id>/contacts/<int:contact_id>/delete",
          _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"{_rep_customer(w)}/contacts/{w.contact}/delete"),
    Route("POST", "/customers/<int:customer_id>/claim",
          {**signed_in(303), "office": 403, "admin": 403},
          url=lambda w: f"/customers/{w.customers.pool}/claim"),
    Route("POST", "/customers/<int:customer_id>/release", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"{_rep_customer(w)}/release", data=lambda w: {"reason": "不再需要"}),
    Route("POST", "/customers/transfer",
          {"anonymous": TO_LOGIN, "rep": 403, "rep2": 403, "manager": 303,
           "region_manager": 303, "rep3": 403, "manager2": 404, "office": 303, "admin": 303},
          data=lambda w: {"customer_ids": str(w.customers.rep2), "to_user_id": str(w.rep.id),
                          "reason": "调整"}),
]
