"""Feedback, surveys (the staff side), satisfaction figures, the care list and member days.

    GET  /customers/<id>/feedback/new     register feedback       POST /customers/<id>/feedback
    GET  /feedback                        the filtered list        GET  /feedback/export.xlsx
    GET  /feedback/<id>                   one feedback, its clock, actions and history
    POST /feedback/<id>/status | /assign | /valuable
    POST /customers/<id>/surveys          send a survey            GET  /surveys/<id> (share it)
    GET  /satisfaction                    per rep and per team
    GET  /care                            the care list            GET  /care/export.xlsx
    GET  /customers/<id>/care/new         a greeting or gift       POST /customers/<id>/care
    GET  /member-days  POST /member-days  GET /member-days/<id>    GET /member-days/<id>/export.xlsx
    GET  /voice-settings/<team_id>        a team's deadlines…      POST /voice-settings/<team_id>
"""

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import segno
from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import access, clock
from crm.accounts.models import Team, User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.customers.exporting import xlsx_file
from crm.customers.models import TIER_LABELS, Customer, Tier
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import choices
from crm.htmx import render_page
from crm.pagination import keyset_page
from crm.params import int_arg
from crm.saving import save_form, saved_and_go
from crm.voice import care
from crm.voice.deadlines import clock_parts
from crm.voice.feedback import change_status, mark_valuable, reassign, register_feedback
from crm.voice.forms import (
    AssignForm,
    FeedbackForm,
    GestureForm,
    MemberDayForm,
    StatusForm,
    SurveyForm,
    ValuableForm,
    VoiceSettingsForm,
)
from crm.voice.listing import FeedbackFilters
from crm.voice.models import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    GESTURE_LABELS,
    KIND_LABELS,
    OCCASION_LABELS,
    REASON_LABELS,
    SCALE_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    TRANSITIONS,
    Channel,
    Feedback,
    FeedbackEvent,
    FeedbackKind,
    FeedbackStatus,
    GestureKind,
    MemberDay,
    Occasion,
    Severity,
    Survey,
    SurveyReason,
)
from crm.voice.settings import SETTING_NAMES, save_settings, settings_for, settings_of
from crm.voice.surveys import create_survey, satisfaction, token_for

bp = Blueprint("voice", __name__)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _signed_in_only():
    return None


@bp.context_processor
def _labels():
    return {"feedback_kinds": KIND_LABELS, "channel_labels": CHANNEL_LABELS,
            "severity_labels": SEVERITY_LABELS, "status_labels": STATUS_LABELS,
            "action_labels": ACTION_LABELS, "reason_labels": REASON_LABELS,
            "gesture_labels": GESTURE_LABELS, "occasion_labels": OCCASION_LABELS,
            "tier_labels": TIER_LABELS, "scale_labels": SCALE_LABELS,
            "now": utcnow(), "clock_parts": clock_parts, "today": clock.local_today()}


def _xlsx(header: list, rows: list[list], title: str, name: str):
    """Rows of text as a workbook (every cell text, never a formula), not kept by any cache."""
    table = SimpleNamespace(header=header, rows=lambda: rows)
    response = send_file(xlsx_file(table, title=title), mimetype=XLSX_MIMETYPE,
                         as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _local(moment: datetime | None) -> str:
    return moment.astimezone(clock.user_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


# Feedback ---------------------------------------------------------------------------------

def _assignee_choices(first_label="—"):
    people = db.session.scalars(access.feedback_assignees(current_user)).all()
    return choices([("", first_label)] + [(p.id, p.name) for p in people]), {p.id: p
                                                                            for p in people}


def _feedback_form(formdata=None) -> tuple[FeedbackForm, dict]:
    form = FeedbackForm(formdata=formdata) if formdata is not None else FeedbackForm()
    form.assignee_id.choices, people = _assignee_choices()
    return form, people


@bp.get("/customers/<int:customer_id>/feedback/new")
def new_feedback(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id)
    if not access.may_register_feedback(current_user, customer):
        abort(403)
    form, _people = _feedback_form()
    if request.args.get("kind") in {k.value for k in FeedbackKind}:
        form.kind.data = request.args["kind"]
    survey = _survey_of(customer, request.args.get("survey"))
    if survey is not None:  # registering what a survey's comment says
        form.channel.data, form.summary.data = Channel.SURVEY.value, survey.comment
        form.survey_id.data = str(survey.id)
    return render_page("voice/feedback_form.html", customer=customer, form=form)


def _survey_of(customer, raw) -> Survey | None:
    """An answered survey of this customer that the user may see, by the id a form carried."""
    survey_id = int_arg({"id": raw}, "id")
    if survey_id is None:
        return None
    return db.session.scalars(access.surveys_scope(current_user).where(
        Survey.id == survey_id, Survey.customer_id == customer.id,
        Survey.answered_at.is_not(None))).first()


@bp.post("/customers/<int:customer_id>/feedback")
def create_feedback(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id)
    if not access.may_register_feedback(current_user, customer):
        abort(403)
    form, people = _feedback_form(request.form)

    def change():
        assignee = people.get(form.assignee_id.data) if access.may_assign_feedback(
            current_user) else None
        received = clock.from_local(form.received_at.data) if form.received_at.data else None
        survey = _survey_of(customer, form.survey_id.data)
        return register_feedback(customer, current_user, kind=FeedbackKind(form.kind.data),
                                 channel=Channel(form.channel.data),
                                 severity=Severity(form.severity.data),
                                 summary=form.summary.data, assignee=assignee,
                                 received_at=received,
                                 survey_id=survey.id if survey is not None else None)

    return save_form(
        form, change,
        page=lambda status: render_page("voice/feedback_form.html", customer=customer,
                                        form=form, status=status),
        done=lambda feedback: saved_and_go(url_for("voice.show_feedback",
                                                   feedback_id=feedback.id),
                                           _("Feedback registered.")))


def _show_context(feedback: Feedback, **forms) -> dict:
    may_handle = access.may_handle_feedback(current_user, feedback)
    assign_form = forms.get("assign_form") or AssignForm(
        assignee_id=feedback.assignee_id, severity=feedback.severity.value,
        version=feedback.version)
    assign_form.assignee_id.choices, _people = _assignee_choices()
    events = db.session.scalars(
        select(FeedbackEvent).where(FeedbackEvent.feedback_id == feedback.id)
        .options(joinedload(FeedbackEvent.by_user))
        .order_by(FeedbackEvent.at, FeedbackEvent.id)).all()
    offer_survey = (feedback.kind == FeedbackKind.COMPLAINT
                    and feedback.status == FeedbackStatus.CLOSED
                    and access.may_send_survey(current_user, feedback.customer))
    return {
        "feedback": feedback, "events": events, "may_handle": may_handle,
        "may_assign": may_handle and access.may_assign_feedback(current_user),
        "moves": TRANSITIONS[feedback.status] if may_handle else (),
        "status_form": forms.get("status_form") or StatusForm(version=feedback.version),
        "assign_form": assign_form,
        "valuable_form": forms.get("valuable_form") or ValuableForm(
            valuable=feedback.valuable, valuable_note=feedback.valuable_note,
            version=feedback.version),
        "offer_survey": offer_survey, "survey_form": SurveyForm(reason="complaint"),
    }


@bp.get("/feedback/<int:feedback_id>")
def show_feedback(feedback_id: int):
    feedback = access.feedback_or_404(current_user, feedback_id)
    return render_page("voice/feedback_show.html", **_show_context(feedback))


def _feedback_change(feedback: Feedback, form, change, form_name: str, message):
    return save_form(
        form, change,
        page=lambda status, stale=False: render_page(
            "voice/feedback_show.html", status=status, stale=stale,
            **_show_context(feedback, **{form_name: form})),
        saved=feedback,
        done=lambda _result: saved_and_go(url_for("voice.show_feedback",
                                                  feedback_id=feedback.id), message))


@bp.post("/feedback/<int:feedback_id>/status")
def feedback_status(feedback_id: int):
    feedback = access.feedback_or_404(current_user, feedback_id, to_handle=True)
    form = StatusForm()

    def change():
        target = form.target()
        if target is None:
            raise DomainError(_("Choose what happens next."))
        return change_status(feedback, current_user, target,
                             expected_version=form.opened_version(),
                             resolution=form.resolution.data, note=form.note.data)

    return _feedback_change(feedback, form, change, "status_form", _("Status changed."))


@bp.post("/feedback/<int:feedback_id>/assign")
def feedback_assign(feedback_id: int):
    feedback = access.feedback_or_404(current_user, feedback_id, to_handle=True)
    if not access.may_assign_feedback(current_user):
        abort(403)
    form = AssignForm()
    form.assignee_id.choices, people = _assignee_choices()

    def change():
        assignee = people.get(form.assignee_id.data)
        if assignee is None:
            raise DomainError(_("Choose someone from the list."), field="assignee_id")
        return reassign(feedback, current_user, assignee=assignee,
                        severity=Severity(form.severity.data),
                        expected_version=form.opened_version())

    return _feedback_change(feedback, form, change, "assign_form", _("Saved."))


@bp.post("/feedback/<int:feedback_id>/valuable")
def feedback_valuable(feedback_id: int):
    feedback = access.feedback_or_404(current_user, feedback_id, to_handle=True)
    form = ValuableForm()
    return _feedback_change(
        feedback, form,
        lambda: mark_valuable(feedback, current_user, valuable=form.valuable.data,
                              note=form.valuable_note.data,
                              expected_version=form.opened_version()),
        "valuable_form", _("Saved."))


def _list_query(filters: FeedbackFilters):
    teams = {t.id: t for t in db.session.scalars(access.teams_scope(current_user))}
    team = teams.get(filters.team_id)
    query = filters.apply(access.feedback_scope(current_user), utcnow(), team).options(
        joinedload(Feedback.customer), joinedload(Feedback.assignee))
    return query, teams


@bp.get("/feedback")
@access.requires(access.may_list_feedback)
def feedback_index():
    filters = FeedbackFilters.from_args(request.args)
    query, teams = _list_query(filters)
    page = keyset_page(query, [Feedback.received_at.desc(), Feedback.id.desc()],
                       request.args.get("after"), limit=50)
    people = db.session.scalars(access.feedback_assignees(current_user)).all()
    return render_page("voice/feedback_index.html", "voice/_feedback_rows.html",
                       page=page, filters=filters, teams=list(teams.values()), people=people,
                       export_args={k: v for k, v in request.args.items()
                                    if k in ("kind", "status", "overdue", "assignee", "team")})


@bp.get("/feedback/export.xlsx")
@access.requires(access.may_list_feedback)
def feedback_export():
    filters = FeedbackFilters.from_args(request.args)
    query, _teams = _list_query(filters)
    rows = db.session.scalars(query.order_by(Feedback.received_at.desc(), Feedback.id.desc())
                              .limit(50_000)).all()
    now = utcnow()
    header = [_("Received at"), _("Customer"), _("Kind"), _("Channel"), _("Severity"),
              _("Status"), _("Assignee"), _("Due"), _("Overdue"), _("What the customer said"),
              _("Resolution"), _("Valuable")]
    table = [[_local(f.received_at), f.customer.name, str(KIND_LABELS[f.kind]),
              str(CHANNEL_LABELS[f.channel]), str(SEVERITY_LABELS[f.severity]),
              str(STATUS_LABELS[f.status]), f.assignee.name if f.assignee else "",
              _local(f.due_at), _("Yes") if f.overdue(now) else "", f.summary,
              f.resolution or "", f.valuable_note or (_("Yes") if f.valuable else "")]
             for f in rows]
    record(AuditAction.EXPORT, current_user.id, None, what="feedback", count=len(rows))
    db.session.commit()
    return _xlsx(header, table, _("Feedback"), f"feedback-{clock.local_today()}.xlsx")


# Surveys (staff side) -----------------------------------------------------------------------

@bp.post("/customers/<int:customer_id>/surveys")
def create_survey_view(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id)
    if not access.may_send_survey(current_user, customer):
        abort(403)
    form = SurveyForm()
    back = url_for("customers.show", customer_id=customer.id) + "#voice"
    return save_form(
        form, lambda: create_survey(customer, current_user,
                                    reason=SurveyReason(form.reason.data)),
        page=lambda status: render_page("voice/survey_refused.html", customer=customer,
                                        form=form, back=back, status=status),
        done=lambda survey: saved_and_go(url_for("voice.show_survey", survey_id=survey.id)))


@bp.get("/surveys/<int:survey_id>")
def show_survey(survey_id: int):
    survey = access.survey_or_404(current_user, survey_id)
    link = url_for("survey_public.show", t=token_for(survey), _external=True)
    qr = segno.make(link, error="m")
    svg = qr.svg_inline(scale=5, border=2, dark="#000", light="#fff", omitsize=False,
                        title=_("QR code of the survey link"))
    text = _("%(name)s, thank you for your trust. Please tell us how we did (one minute): "
             "%(link)s", name=survey.customer.name, link=link)
    usable = survey.answered_at is None and survey.expires_at > utcnow()
    return render_page("voice/survey_show.html", survey=survey, link=link, qr_svg=svg,
                       share_text=text, usable=usable,
                       may_register=access.may_register_feedback(current_user, survey.customer))


@bp.get("/satisfaction")
@access.requires(access.may_see_satisfaction)
def satisfaction_view():
    # Days are the viewer's team's days, as on the dashboard and in goals.
    today = clock.utcnow().astimezone(clock.team_zone(current_user.team)).date()

    def day(name, default):
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return default

    first, last = day("from", today - timedelta(days=89)), day("to", today)
    if last < first:
        first, last = last, first
    people = db.session.scalars(access.satisfaction_people(current_user)
                                .options(joinedload(User.team)).order_by(User.name)).all()
    by_rep = satisfaction(first, last, by="rep", ids=[p.id for p in people],
                          zone=clock.team_zone(current_user.team))
    teams = (db.session.scalars(access.teams_scope(current_user).order_by(Team.path)).all()
             if access.looks_across_people(current_user) else [])
    by_team = satisfaction(first, last, by="team", ids=[t.id for t in teams],
                           zone=clock.team_zone(current_user.team)) if teams else {}
    return render_page("voice/satisfaction.html", first=first, last=last,
                       people=[p for p in people if p.id in by_rep], by_rep=by_rep,
                       teams=[t for t in teams if t.id in by_team], by_team=by_team)


# Care ---------------------------------------------------------------------------------------

def _care_scope():
    teams = {t.id: t for t in db.session.scalars(access.teams_scope(current_user)
                                                 .order_by(Team.path))}
    team = teams.get(int_arg(request.args, "team"))
    customers = care.narrow_to(access.care_customers(current_user), team=team)
    return customers, teams, team


def _care_lists(customers, period: str, limit: int = care.LIST_LIMIT):
    today = clock.local_today()
    first, days = care.month_of(today) if period == "month" else care.week_of(today)
    return {"birthdays": care.birthdays(customers, first, days, limit),
            "valuable": care.valuable_customers(customers, limit),
            "silent": care.silent_key_customers(customers,
                                                settings_of(current_user).silent_days,
                                                limit=limit),
            "limit": limit,
            "first": first, "last": first + timedelta(days=days - 1)}


@bp.get("/care")
def care_index():
    period = "month" if request.args.get("period") == "month" else "week"
    customers, teams, team = _care_scope()
    return render_page("voice/care.html", period=period, team=team,
                       teams=list(teams.values()) if access.looks_across_people(current_user)
                       else [], **_care_lists(customers, period))


@bp.get("/care/export.xlsx")
@access.requires(access.may_export_care)
def care_export():
    period = "month" if request.args.get("period") == "month" else "week"
    customers, _teams, _team = _care_scope()
    lists = _care_lists(customers, period, care.EXPORT_LIMIT)
    header = [_("List"), _("Customer"), _("Contact"), _("Owner"), _("Date"), _("Note")]
    rows = [[_("Birthday"), b.customer.name, b.contact.name if b.contact else "",
             b.customer.owner.name if b.customer.owner else "", b.on.isoformat(),
             _("Lunar calendar") if b.lunar else ""] for b in lists["birthdays"]]
    rows += [[_("Valuable feedback"), v.customer.name, "",
              v.customer.owner.name if v.customer.owner else "",
              v.feedback.received_at.date().isoformat(), v.feedback.valuable_note or ""]
             for v in lists["valuable"]]
    rows += [[_("Long silent"), c.name, "",
              c.owner.name if c.owner else "", _local(c.last_contact_at), ""]
             for c in lists["silent"]]
    record(AuditAction.EXPORT, current_user.id, None, what="care", count=len(rows))
    db.session.commit()
    return _xlsx(header, rows, _("Care list"), f"care-{clock.local_today()}.xlsx")


def _gesture_form(formdata=None) -> GestureForm:
    form = GestureForm(formdata=formdata) if formdata is not None else GestureForm(
        given_on=clock.local_today())
    days = db.session.scalars(access.member_days_scope(current_user)
                              .where(MemberDay.active.is_(True))).all()
    form.member_day_id.choices = choices([("", "—")] + [(d.id, d.name) for d in days])
    return form


@bp.get("/customers/<int:customer_id>/care/new")
def new_gesture(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    form = _gesture_form()
    if request.args.get("occasion") in {o.value for o in Occasion}:
        form.occasion.data = request.args["occasion"]
    return render_page("voice/gesture_form.html", customer=customer, form=form)


@bp.post("/customers/<int:customer_id>/care")
def create_gesture(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    form = _gesture_form(request.form)
    allowed_days = {value for value, _label, *_rest in form.member_day_id.iter_choices()}

    def change():
        day_id = form.member_day_id.data if str(form.member_day_id.data) in allowed_days \
            else None
        return care.record_gesture(customer, current_user, kind=GestureKind(form.kind.data),
                                   occasion=Occasion(form.occasion.data), what=form.what.data,
                                   given_on=form.given_on.data, member_day_id=day_id)

    return save_form(
        form, change,
        page=lambda status: render_page("voice/gesture_form.html", customer=customer,
                                        form=form, status=status),
        done=lambda _g: saved_and_go(url_for("customers.show", customer_id=customer.id)
                                     + "#voice", _("Recorded.")))


# Member days --------------------------------------------------------------------------------

def _member_day_form(formdata=None) -> MemberDayForm:
    form = MemberDayForm(formdata=formdata) if formdata is not None else MemberDayForm()
    teams = db.session.scalars(access.teams_scope(current_user).order_by(Team.path)).all()
    form.team_id.choices = choices([(t.id, t.name) for t in teams])
    form.allowed_teams = {t.id: t for t in teams}
    return form


@bp.get("/member-days")
def member_days():
    days = db.session.scalars(access.member_days_scope(current_user)
                              .options(joinedload(MemberDay.team))
                              .order_by(MemberDay.day_of_month, MemberDay.id)).all()
    form = _member_day_form() if access.may_manage_member_days(current_user) else None
    return render_page("voice/member_days.html", days=days, form=form,
                       next_on={d.id: care.next_occurrence(d, clock.local_today())
                                for d in days})


@bp.post("/member-days")
@access.requires(access.may_manage_member_days)
def create_member_day():
    form = _member_day_form(request.form)

    def change():
        team = form.allowed_teams.get(form.team_id.data)
        if team is None:
            raise DomainError(_("Choose a team from the list."), field="team_id")
        return care.create_member_day(team, current_user, name=form.name.data,
                                      day_of_month=form.day_of_month.data,
                                      offer=form.offer.data, tiers=form.tiers.data)

    def page(status):
        days = db.session.scalars(access.member_days_scope(current_user)).all()
        return render_page("voice/member_days.html", days=days, form=form, status=status,
                           next_on={d.id: care.next_occurrence(d, clock.local_today())
                                    for d in days})

    return save_form(form, change, page=page,
                     done=lambda day: saved_and_go(url_for("voice.member_day",
                                                           member_day_id=day.id),
                                                   _("Member day saved.")))


@bp.get("/member-days/<int:member_day_id>")
def member_day(member_day_id: int):
    day = access.member_day_or_404(current_user, member_day_id)
    query = care.reached_customers(day, access.care_customers(current_user))
    page = keyset_page(query.order_by(None), [Customer.id], request.args.get("after"),
                       limit=100)
    return render_page("voice/member_day.html", day=day, page=page,
                       next_on=care.next_occurrence(day, clock.local_today()),
                       tiers=[Tier(t) for t in day.tiers])


@bp.get("/member-days/<int:member_day_id>/export.xlsx")
@access.requires(access.may_export_care)
def member_day_export(member_day_id: int):
    day = access.member_day_or_404(current_user, member_day_id)
    customers = db.session.scalars(care.reached_customers(
        day, access.care_customers(current_user)).limit(50_000)).all()
    header = [_("Customer"), _("Organisation"), _("Tier"), _("Owner"), _("Phone"),
              _("Member day"), _("What is offered")]
    rows = [[c.name, c.organisation or "", str(TIER_LABELS[c.tier]),
             c.owner.name if c.owner else "", c.phone or "", day.name, day.offer]
            for c in customers]
    record(AuditAction.EXPORT, current_user.id, None, what="member_day", count=len(rows))
    db.session.commit()
    return _xlsx(header, rows, _("Member day"), f"member-day-{day.id}.xlsx")


# Settings -----------------------------------------------------------------------------------

@bp.get("/voice-settings/<int:team_id>")
@access.requires(access.may_edit_voice_settings)
def edit_settings(team_id: int):
    team = access.team_or_404(current_user, team_id)
    current = settings_for(team.id)
    form = VoiceSettingsForm(data={name: getattr(current, name) for name in SETTING_NAMES})
    return render_page("voice/settings.html", team=team, form=form)


@bp.post("/voice-settings/<int:team_id>")
@access.requires(access.may_edit_voice_settings)
def update_settings(team_id: int):
    team = access.team_or_404(current_user, team_id)
    form = VoiceSettingsForm()

    def change():
        return save_settings(team.id, {name: getattr(form, name).data for name in SETTING_NAMES})

    return save_form(form, change,
                     page=lambda status: render_page("voice/settings.html", team=team,
                                                     form=form, status=status),
                     done=lambda _s: saved_and_go(url_for("voice.edit_settings",
                                                          team_id=team.id), _("Saved.")))
