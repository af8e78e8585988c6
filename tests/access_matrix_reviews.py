"""Access-matrix rows for reviews (录音分析).

The rep's recordings are reviewed by their manager (and the region manager above); the rep
sees a review once it is finished; rep2 (same team), rep3 and manager2 (another region) get
404; office work has no part in reviews (403); admins read everything but write nothing.
"""

from datetime import date, timedelta

from crm.reviews.rubric import BUILT_IN
from tests.access_matrix import TO_LOGIN, Route, only


def _sees(rep: int, manager: int, region_manager: int, admin: int) -> dict[str, int]:
    """Who sees the review at all; the others get 404 (office: 403, not their area)."""
    return {"anonymous": TO_LOGIN, "rep": rep, "rep2": 404, "manager": manager,
            "region_manager": region_manager, "rep3": 404, "manager2": 404, "office": 403,
            "admin": admin}


# The finished review: the rep, both managers above and admins see it.
SEES_FINISHED = _sees(rep=200, manager=200, region_manager=200, admin=200)
# Writing a draft: only its reviewer; a draft is not the rep's to see yet.
WRITES_DRAFT = _sees(rep=404, manager=303, region_manager=403, admin=403)
# The rep's answers to a finished review.
REP_ANSWERS = _sees(rep=303, manager=403, region_manager=403, admin=403)


def _draft(w) -> str:
    return f"/reviews/{w.review('draft').id}"


def _finished(w) -> str:
    return f"/reviews/{w.review('finished').id}"


def _rubric_form(_w) -> dict:
    form = {}
    for key in BUILT_IN:
        form[f"{key}-label"] = f"{key} (edited)"
        for score in range(1, 6):
            form[f"{key}-level-{score}"] = f"{key} level {score}"
    return form


REVIEW_ROUTES: list[Route] = [
    Route("GET", "/reviews", {**only(("rep", "rep2", "manager", "region_manager", "rep3",
                                       "manager2", "admin"), 200)}),
    Route("POST", "/recordings/<int:recording_id>/review",
          _sees(rep=404, manager=303, region_manager=303, admin=404),
          url=lambda w: f"/recordings/{w.recording}/review"),
    Route("GET", "/reviews/<int:review_id>", SEES_FINISHED, url=_finished),
    Route("POST", "/reviews/<int:review_id>/comments", WRITES_DRAFT,
          url=lambda w: f"{_draft(w)}/comments",
          data=lambda w: {"at": "0:00.8", "kind": "praise", "body": "需求问得很好"}),
    Route("POST", "/reviews/<int:review_id>/comments/<int:comment_id>/delete", WRITES_DRAFT,
          url=lambda w: f"{_draft(w)}/comments/{w.review('draft').comment}/delete"),
    Route("POST", "/reviews/<int:review_id>/scores", WRITES_DRAFT,
          url=lambda w: f"{_draft(w)}/scores", data=lambda w: {"item": "opening", "score": "4"}),
    Route("POST", "/reviews/<int:review_id>/summary", WRITES_DRAFT,
          url=lambda w: f"{_draft(w)}/summary",
          data=lambda w: {"summary": "整体不错", "version": str(w.review("draft").version)}),
    Route("POST", "/reviews/<int:review_id>/actions", WRITES_DRAFT,
          url=lambda w: f"{_draft(w)}/actions",
          data=lambda w: {"text": "多问开放式问题",
                          "recheck_on": (date.today() + timedelta(days=14)).isoformat()}),
    Route("POST", "/reviews/<int:review_id>/finish", WRITES_DRAFT,
          url=lambda w: f"{_draft(w)}/finish"),
    Route("POST", "/reviews/<int:review_id>/actions/<int:action_id>/recheck",
          _sees(rep=403, manager=303, region_manager=403, admin=403),
          url=lambda w: f"{_finished(w)}/actions/{w.review('finished').action}/recheck"),
    Route("POST", "/reviews/<int:review_id>/comments/<int:comment_id>/reply", REP_ANSWERS,
          url=lambda w: f"{_finished(w)}/comments/{w.review('finished').comment}/reply",
          data=lambda w: {"reply": "收到，下次先问需求"}),
    Route("POST", "/reviews/<int:review_id>/acknowledge", REP_ANSWERS,
          url=lambda w: f"{_finished(w)}/acknowledge"),
    Route("GET", "/reviews/trends/<int:user_id>",
          _sees(rep=200, manager=200, region_manager=200, admin=200),
          url=lambda w: f"/reviews/trends/{w.rep.id}"),
    Route("GET", "/reviews/team", only(("manager", "region_manager", "manager2", "admin"), 200)),
    Route("GET", "/admin/rubric", only(("admin",), 200)),
    Route("POST", "/admin/rubric", only(("admin",), 303), data=_rubric_form),
]
