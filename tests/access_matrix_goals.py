"""Access-matrix rows for goals, the dashboard and reports (issue 12). The world's goal is
sh1's visits this month (`goal`), with the rep's share (`goal_share`); `report_run` is a
weekly report of sh1, already made."""

from datetime import date

from tests.access_matrix import TO_LOGIN, Route, only, signed_in

# Setting and splitting goals: managers over sh1 and admins; reps and office see, may not.
SETS_SH1_GOALS = {"anonymous": TO_LOGIN, "rep": 403, "rep2": 403, "manager": 303,
                  "region_manager": 303, "rep3": 403, "manager2": 404, "office": 403,
                  "admin": 303}
SPLITS_SH1_GOAL = {**SETS_SH1_GOALS, "rep3": 404}
# The rep's own goal: the rep changes it while unlocked; a colleague never sees it.
CHANGES_REPS_SHARE = {"anonymous": TO_LOGIN, "rep": 303, "rep2": 404, "manager": 303,
                      "region_manager": 303, "rep3": 404, "manager2": 404, "office": 403,
                      "admin": 303}
REPORT_READERS = ("manager", "region_manager", "manager2", "office", "admin")
SH1_REPORT = {"anonymous": TO_LOGIN, "rep": 403, "rep2": 403, "manager": 200,
              "region_manager": 200, "rep3": 403, "manager2": 404, "office": 200, "admin": 200}


def _with(expect: dict, status: int) -> dict:
    return {role: (status if code == 200 else code) for role, code in expect.items()}


def _run(w) -> str:
    return f"/reports/{w.report_run}"


def _month(w) -> dict:
    return {"team_id": str(w.teams.sh1), "period": "month", "start": date.today().isoformat()}


GOAL_ROUTES: list[Route] = [
    Route("GET", "/dashboard", signed_in(200)),
    Route("GET", "/goals", signed_in(200)),
    Route("POST", "/goals", SETS_SH1_GOALS,
          data=lambda w: {**_month(w), "metric": "calls", "user_id": "", "target": "20"}),
    Route("POST", "/goals/<int:goal_id>", CHANGES_REPS_SHARE,
          url=lambda w: f"/goals/{w.goal_share}", data=lambda w: {"target": "6", "version": "1"}),
    Route("POST", "/goals/<int:goal_id>/split", SPLITS_SH1_GOAL,
          url=lambda w: f"/goals/{w.goal}/split", data=lambda w: {"mode": "equal"}),
    Route("POST", "/goals/<int:goal_id>/months", SPLITS_SH1_GOAL,
          url=lambda w: f"/goals/{w.goal}/months"),
    Route("POST", "/goals/lock", SETS_SH1_GOALS, data=lambda w: {**_month(w), "locked": "1"}),
    Route("GET", "/reports", only(REPORT_READERS, 200)),
    Route("POST", "/reports", {**_with(SH1_REPORT, 303)},
          data=lambda w: {"team_id": str(w.teams.sh1), "kind": "daily",
                          "day": date.today().isoformat()}),
    Route("GET", "/reports/<int:run_id>", SH1_REPORT, url=_run),
    Route("GET", "/reports/<int:run_id>/status", SH1_REPORT, url=lambda w: f"{_run(w)}/status"),
    Route("GET", "/reports/<int:run_id>/xlsx", SH1_REPORT, url=lambda w: f"{_run(w)}/xlsx"),
    Route("GET", "/reports/<int:run_id>/csv", SH1_REPORT, url=lambda w: f"{_run(w)}/csv"),
    Route("POST", "/reports/<int:run_id>/regenerate", _with(SH1_REPORT, 303),
          url=lambda w: f"{_run(w)}/regenerate"),
]
