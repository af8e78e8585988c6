"""Access-matrix rows for data subjects' requests, retention and the audit trail (issue 15).

The register is office's and admin's; irreversible steps (erasure, legal holds, deleting
recordings, retention) and the audit trail are admin's. A request that does not exist is 404
for those who may handle requests and 403 for everyone else (the page is not theirs at all).
"""

from datetime import date

from tests.access_matrix import ROLES, TO_LOGIN, Route, only, signed_in

HANDLERS = ("office", "admin")
NO_SUCH = "/admin/data-requests/999999"


def _admin_only_404() -> dict[str, int]:
    return {**only(("admin",), 404), "anonymous": TO_LOGIN}


PRIVACY_ROUTES: list[Route] = [
    Route("GET", "/admin/data-requests", only(HANDLERS, 200)),
    Route("GET", "/admin/data-requests/new", only(HANDLERS, 200)),
    Route("POST", "/admin/data-requests", only(HANDLERS, 303),
          data=lambda w: {"kind": "access", "customer_id": str(w.customers.rep),
                          "received_on": date.today().isoformat(), "due_on": ""}),
    Route("GET", "/admin/data-requests/<int:request_id>", only(HANDLERS, 404),
          url=lambda w: NO_SUCH),
    Route("POST", "/admin/data-requests/<int:request_id>", only(HANDLERS, 404),
          url=lambda w: NO_SUCH),
    Route("POST", "/admin/data-requests/<int:request_id>/export", only(HANDLERS, 404),
          url=lambda w: NO_SUCH + "/export"),
    Route("GET", "/admin/data-requests/<int:request_id>/exports", only(HANDLERS, 404),
          url=lambda w: NO_SUCH + "/exports"),
    Route("GET", "/admin/data-exports/<token>", only(HANDLERS, 404),
          url=lambda w: "/admin/data-exports/" + "x" * 43),
    Route("POST", "/admin/data-requests/<int:request_id>/withdraw-consent",
          only(HANDLERS, 404), url=lambda w: NO_SUCH + "/withdraw-consent"),
    Route("POST", "/admin/data-requests/<int:request_id>/erase", _admin_only_404(),
          url=lambda w: NO_SUCH + "/erase"),
    Route("POST", "/admin/data-requests/<int:request_id>/hold", _admin_only_404(),
          url=lambda w: NO_SUCH + "/hold"),
    Route("POST", "/admin/data-requests/<int:request_id>/release-hold", _admin_only_404(),
          url=lambda w: NO_SUCH + "/release-hold"),
    Route("POST", "/admin/data-requests/<int:request_id>/delete-recordings",
          _admin_only_404(), url=lambda w: NO_SUCH + "/delete-recordings"),
    Route("GET", "/admin/retention", only(("admin",), 200)),
    Route("POST", "/admin/retention", only(("admin",), 303),
          data=lambda w: {"recording_days": "365", "audit_days": "1095", "version": "1"}),
    Route("GET", "/admin/audit", only(("admin",), 200)),
    Route("GET", "/admin/audit.csv", only(("admin",), 200)),
]

# Two-factor sign-in (issue 15). Without a password step first, the second step goes back to
# the sign-in page; enrolment is everyone's own; the requirement is the administrator's.
PRIVACY_ROUTES += [
    Route("GET", "/login/two-factor", {role: 302 for role in
                                       ("anonymous", *[r for r in ROLES if r != "anonymous"])}),
    Route("POST", "/login/two-factor", {role: 303 for role in ROLES},
          data=lambda w: {"code": "123456"}),
    Route("GET", "/account/two-factor", signed_in(200)),
    # A wrong code re-renders the enrolment page with the error (the GET before it started
    # the enrolment).
    Route("POST", "/account/two-factor", signed_in(422),
          data=lambda w: {"code": "000000"}),
    Route("POST", "/account/two-factor/disable", signed_in(422),
          data=lambda w: {"password": "not-the-password"}),
    Route("GET", "/admin/security", only(("admin",), 200)),
    Route("POST", "/admin/security", only(("admin",), 303), data=lambda w: {}),
]
