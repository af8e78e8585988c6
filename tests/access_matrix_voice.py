"""Access-matrix rows for the customer's voice (issue 18): feedback on the rep's customer,
surveys (the staff side and the public link), satisfaction, care, member days, settings.

Rows that need an object make it in the test's own transaction through `world.app`."""

from tests.access_matrix import TO_LOGIN, Route, everyone, only, signed_in
from tests.access_matrix_customers import SEES_REPS_CUSTOMER, _with

LOOKS_ACROSS = ("manager", "region_manager", "rep3", "manager2", "office", "admin")
# Handling feedback assigned to the rep: the rep, managers above, office and admin.
HANDLES_REPS_FEEDBACK = _with(SEES_REPS_CUSTOMER, 303)
ASSIGNS_REPS_FEEDBACK = {**HANDLES_REPS_FEEDBACK, "rep": 403}
ACROSS = only(("manager", "region_manager", "manager2", "office", "admin"), 200)
# The survey link: visitors only; anyone signed in is refused.
VISITORS_ONLY = {**everyone(403), "anonymous": 200}
# A member day of sh1: its members, managers above, office and admin.
SEES_SH1_DAY = {"anonymous": TO_LOGIN, "rep": 200, "rep2": 200, "manager": 200,
                "region_manager": 200, "rep3": 404, "manager2": 404, "office": 200,
                "admin": 200}


def _made(w, name, make):
    """One object per test (the world is fresh for each role)."""
    cache = w.__dict__.setdefault("_voice", {})
    if name not in cache:
        with w.app.app_context():
            cache[name] = make()
    return cache[name]


def _feedback(w) -> int:
    def make():
        from crm.customers.models import Customer
        from crm.extensions import db
        from crm.voice.feedback import register_feedback
        from crm.voice.models import Channel, FeedbackKind, Severity

        customer = db.session.get(Customer, w.customers.rep)
        feedback = register_feedback(customer, None, kind=FeedbackKind.COMPLAINT,
                                     channel=Channel.PHONE, severity=Severity.NORMAL,
                                     summary="送货晚了两天")
        db.session.commit()
        return feedback.id

    return _made(w, "feedback", make)


def _feedback_version(w) -> str:
    def read():
        from crm.extensions import db
        from crm.voice.models import Feedback

        return str(db.session.get(Feedback, _feedback(w)).version)

    with w.app.app_context():
        return read()


def _survey(w) -> tuple[int, str, str]:
    """A survey sent 40 days ago and still open: it neither blocks the row that sends a new
    one (one per 30 days) nor has expired."""
    def make():
        import secrets
        from datetime import timedelta

        from crm.clock import utcnow
        from crm.extensions import db
        from crm.voice.models import Survey, SurveyReason, SurveyScale
        from crm.voice.surveys import form_token_for, token_for

        sent = utcnow() - timedelta(days=40)
        survey = Survey(customer_id=w.customers.rep, rep_id=w.rep.id, team_id=w.teams.sh1,
                        scale=SurveyScale.STARS, reason=SurveyReason.OTHER,
                        nonce=secrets.token_urlsafe(24), created_by_id=w.rep.id,
                        created_at=sent, expires_at=utcnow() + timedelta(days=1))
        db.session.add(survey)
        db.session.commit()
        return survey.id, token_for(survey), form_token_for(survey)

    return _made(w, "survey", make)


def _member_day(w) -> int:
    def make():
        from crm.accounts.models import Team, User
        from crm.extensions import db
        from crm.voice.care import create_member_day

        day = create_member_day(db.session.get(Team, w.teams.sh1),
                                db.session.get(User, w.manager.id), name="会员日",
                                day_of_month=18, offer="九折", tiers=["key", "general"])
        db.session.commit()
        return day.id

    return _made(w, "member_day", make)


VOICE_ROUTES: list[Route] = [
    Route("GET", "/customers/<int:customer_id>/feedback/new", SEES_REPS_CUSTOMER,
          url=lambda w: f"/customers/{w.customers.rep}/feedback/new"),
    Route("POST", "/customers/<int:customer_id>/feedback", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/customers/{w.customers.rep}/feedback",
          data=lambda w: {"kind": "suggestion", "channel": "visit", "severity": "low",
                          "summary": "希望增加夜间送货", "assignee_id": ""}),
    Route("GET", "/feedback", ACROSS),
    Route("GET", "/feedback/export.xlsx", ACROSS),
    Route("GET", "/feedback/<int:feedback_id>", SEES_REPS_CUSTOMER,
          url=lambda w: f"/feedback/{_feedback(w)}"),
    Route("POST", "/feedback/<int:feedback_id>/status", HANDLES_REPS_FEEDBACK,
          url=lambda w: f"/feedback/{_feedback(w)}/status",
          data=lambda w: {"status": "in_progress", "version": _feedback_version(w)}),
    Route("POST", "/feedback/<int:feedback_id>/assign", ASSIGNS_REPS_FEEDBACK,
          url=lambda w: f"/feedback/{_feedback(w)}/assign",
          data=lambda w: {"assignee_id": str(w.rep.id), "severity": "high",
                          "version": _feedback_version(w)}),
    Route("POST", "/feedback/<int:feedback_id>/valuable", HANDLES_REPS_FEEDBACK,
          url=lambda w: f"/feedback/{_feedback(w)}/valuable",
          data=lambda w: {"valuable": "y", "valuable_note": "提出了包装改进",
                          "version": _feedback_version(w)}),
    Route("POST", "/customers/<int:customer_id>/surveys", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/customers/{w.customers.rep}/surveys",
          data=lambda w: {"reason": "won_deal"}),
    Route("GET", "/surveys/<int:survey_id>", SEES_REPS_CUSTOMER,
          url=lambda w: f"/surveys/{_survey(w)[0]}"),
    Route("GET", "/satisfaction", signed_in(200)),
    Route("GET", "/care", signed_in(200)),
    Route("GET", "/care/export.xlsx", ACROSS),
    Route("GET", "/customers/<int:customer_id>/care/new", SEES_REPS_CUSTOMER,
          url=lambda w: f"/customers/{w.customers.rep}/care/new"),
    Route("POST", "/customers/<int:customer_id>/care", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/customers/{w.customers.rep}/care",
          data=lambda w: {"kind": "gift", "occasion": "birthday", "what": "生日蛋糕",
                          "given_on": "2026-01-05", "member_day_id": ""}),
    Route("GET", "/member-days", signed_in(200)),
    # Another region's manager may not pick sh1: the form says so (422).
    Route("POST", "/member-days",
          {**only(("manager", "region_manager", "office", "admin"), 303), "manager2": 422},
          data=lambda w: {"team_id": str(w.teams.sh1), "name": "每月会员日",
                          "day_of_month": "8", "offer": "满千减百", "tiers": "key"}),
    Route("GET", "/member-days/<int:member_day_id>", SEES_SH1_DAY,
          url=lambda w: f"/member-days/{_member_day(w)}"),
    Route("GET", "/member-days/<int:member_day_id>/export.xlsx",
          {**SEES_SH1_DAY, "rep": 403, "rep2": 403, "rep3": 403},
          url=lambda w: f"/member-days/{_member_day(w)}/export.xlsx"),
    Route("GET", "/voice-settings/<int:team_id>", only(("admin",), 200),
          url=lambda w: f"/voice-settings/{w.teams.sh1}"),
    Route("POST", "/voice-settings/<int:team_id>", only(("admin",), 303),
          url=lambda w: f"/voice-settings/{w.teams.sh1}",
          data=lambda w: {"high_hours": "12",
                          "normal_hours": "48", "low_days": "5", "survey_scale": "nps",
                          "survey_days": "10", "low_score_stars": "2", "low_score_nps": "6",
                          "silent_days": "45"}),
    # The public survey answers visitors and nobody signed in.
    Route("GET", "/s", VISITORS_ONLY, url=lambda w: f"/s?t={_survey(w)[1]}"),
    Route("POST", "/s", VISITORS_ONLY, url=lambda w: f"/s?t={_survey(w)[1]}",
          data=lambda w: {"score": "4", "comment": "很好", "csrf_token": _survey(w)[2]}),
]
