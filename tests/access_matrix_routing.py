"""Access-matrix rows for routing and the ideal customer profile (managers of the team and
admins), and the public lead form (no sign-in; an unknown link is 404 for everyone).

The URLs name the team sh1: its manager and the region manager above it manage its routing,
manager2 (another region) gets 404, reps and office 403.
"""

from tests.access_matrix import TO_LOGIN, Route, everyone

MANAGES_SH1 = {"anonymous": TO_LOGIN, "rep": 403, "rep2": 403, "manager": 200,
               "region_manager": 200, "rep3": 403, "manager2": 404, "office": 403,
               "admin": 200}
NO_SUCH_RULE = "/routing/rules/999999"
NO_SUCH_LEAD_FORM = "/leads/" + "x" * 32


def _sh1(w, rest: str = "") -> str:
    return f"/routing/teams/{w.teams.sh1}{rest}"


def _with(base: dict, ok: int) -> dict:
    return {role: (ok if status == 200 else status) for role, status in base.items()}


def _no_rule() -> dict:
    return {role: (404 if status in (200, 404) else status)
            for role, status in MANAGES_SH1.items()}


ROUTING_ROUTES: list[Route] = [
    Route("GET", "/routing", _with(MANAGES_SH1, 302) | {"manager2": 302}),
    Route("GET", "/routing/teams/<int:team_id>", MANAGES_SH1, url=_sh1),
    Route("GET", "/routing/teams/<int:team_id>/preview", MANAGES_SH1,
          url=lambda w: _sh1(w, "/preview?industry=制造业&count=3")),
    Route("POST", "/routing/teams/<int:team_id>/rules", _with(MANAGES_SH1, 303),
          url=lambda w: _sh1(w, "/rules"), data=lambda w: {"new-name": "矩阵规则"}),
    Route("POST", "/routing/rules/<int:rule_id>", _no_rule(), url=lambda w: NO_SUCH_RULE,
          data=lambda w: {"rule999999-name": "x"}),
    Route("POST", "/routing/rules/<int:rule_id>/up", _no_rule(),
          url=lambda w: NO_SUCH_RULE + "/up"),
    Route("POST", "/routing/rules/<int:rule_id>/delete", _no_rule(),
          url=lambda w: NO_SUCH_RULE + "/delete"),
    Route("POST", "/routing/teams/<int:team_id>/settings", _with(MANAGES_SH1, 303),
          url=lambda w: _sh1(w, "/settings"), data=lambda w: {"balance_by": "deals"}),
    Route("POST", "/routing/teams/<int:team_id>/lead-form", _with(MANAGES_SH1, 303),
          url=lambda w: _sh1(w, "/lead-form")),
    Route("POST", "/routing/teams/<int:team_id>/lead-form/close", _with(MANAGES_SH1, 303),
          url=lambda w: _sh1(w, "/lead-form/close")),
    Route("POST", "/routing/teams/<int:team_id>/profile", _with(MANAGES_SH1, 303),
          url=lambda w: _sh1(w, "/profile"),
          data=lambda w: {"profile-industry": "制造业:3, 医疗:1"}),
    Route("POST", "/routing/teams/<int:team_id>/people/<int:user_id>",
          _with(MANAGES_SH1, 303), url=lambda w: _sh1(w, f"/people/{w.rep.id}"),
          data=lambda w: {f"p{w.rep.id}-specialty_industries": "制造业",
                          f"p{w.rep.id}-specialty_size_band": "",
                          f"p{w.rep.id}-away_until": ""}),
    Route("POST", "/routing/teams/<int:team_id>/rebalance", _with(MANAGES_SH1, 303),
          url=lambda w: _sh1(w, "/rebalance"),
          data=lambda w: {"from_user_id": str(w.rep.id), "to_user_id": str(w.rep2.id),
                          "count": "1"}),
    # The public lead form: anyone, signed in or not; an unknown link does not exist.
    Route("GET", "/leads/<token>", everyone(404), url=lambda w: NO_SUCH_LEAD_FORM),
    Route("POST", "/leads/<token>", everyone(404), url=lambda w: NO_SUCH_LEAD_FORM,
          data=lambda w: {"name": "矩阵线索", "phone": "13512345678"}),
]
