"""Reviews (录音分析): the manager's queue, the review page with its incremental saves, the
rep's side of the loop, trends, the team table and the rubric editor."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm import access
from crm.accounts.models import Role, User
from crm.clock import utcnow
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.followups.models import KIND_LABELS, FollowUp
from crm.forms import show_domain_error
from crm.htmx import form_error_status, is_fragment_request, redirect_after_post, render_page
from crm.i18n import select_timezone
from crm.notifications import inbox
from crm.notifications.models import NOTIFICATION_LABELS
from crm.recordings.models import Recording
from crm.reviews import reviewing, trends, worklist
from crm.reviews.charts import score_chart
from crm.reviews.forms import ActionForm, CommentForm, ReplyForm, SummaryForm, read_rubric_form
from crm.reviews.models import (
    COMMENT_KIND_LABELS,
    ImprovementAction,
    Review,
    ReviewComment,
)
from crm.reviews.rubric import ITEM_KEYS, SCORES, current_rubric, items_of, save_rubric

bp = Blueprint("reviews", __name__)

TREND_DAYS = 90


@bp.before_request
@login_required
def _reviews_people_only():
    if not access.may_use_reviews(current_user):
        abort(403)
    return None


@bp.app_context_processor
def _labels():
    return {"comment_kinds": COMMENT_KIND_LABELS, "notification_labels": NOTIFICATION_LABELS}


def _zone() -> ZoneInfo:
    return ZoneInfo(select_timezone())


def _local_midnight():
    return utcnow().astimezone(_zone()).replace(hour=0, minute=0, second=0, microsecond=0)


# The queue and the lists ----------------------------------------------------------------

@bp.get("/reviews")
def index():
    """Managers: the queue and what follows up on finished reviews. Reps (and admins, for
    everyone): finished reviews, newest first."""
    after = request.args.get("after")
    if current_user.role != Role.MANAGER:
        page = worklist.reviews_list(current_user, after,
                                     own_only=current_user.role != Role.ADMIN)
        return render_page("reviews/mine.html", "reviews/_review_rows.html", page=page,
                           notifications=inbox.unread(current_user.id))
    rep_id = request.args.get("rep", type=int)
    kind = request.args.get("kind") or None
    page = worklist.unreviewed(current_user, rep_id=rep_id, kind=kind, after=after)
    if is_fragment_request():
        return render_page("reviews/queue.html", "reviews/_queue_rows.html", page=page)
    today = _local_midnight()
    team = current_user.team
    reps = db.session.scalars(select(User).where(
        User.id.in_(access.reviewed_people(current_user)), User.active.is_(True))
        .order_by(User.name, User.id)).all()
    due = worklist.rechecks_due(current_user, today.date())
    return render_page(
        "reviews/queue.html", page=page, reps=reps, rep_id=rep_id, kind=kind,
        kinds=[(k, KIND_LABELS[k]) for k in worklist.QUEUE_KINDS],
        done_today=worklist.finished_since(current_user, today),
        target=team.daily_review_target if team else 2,
        drafts=worklist.drafts_of(current_user),
        awaiting=worklist.awaiting_acknowledgement(current_user),
        due=due, charts=_recheck_charts(due), notifications=inbox.unread(current_user.id))


def _recheck_charts(actions: list[ImprovementAction]) -> dict[int, dict]:
    """Per rep with a re-check due: their scores per item over the last 90 days."""
    rep_ids = {action.review.rep_id for action in actions}
    if not rep_ids:
        return {}
    end = utcnow()
    start = end - timedelta(days=TREND_DAYS)
    points = trends.score_points(rep_ids, start, _zone())
    items = items_of(current_rubric())
    return {rep_id: score_chart(points.get(rep_id, {}), items, start.date(), end.date())
            for rep_id in rep_ids}


# Starting a review ----------------------------------------------------------------------

@bp.post("/recordings/<int:recording_id>/review")
def start(recording_id: int):
    recording = db.session.get(Recording, recording_id)
    allowed = db.session.scalar(access.reviewed_people(current_user).where(
        User.id == (recording.follow_up.author_id if recording else None)))
    if recording is None or allowed is None:
        abort(404)
    try:
        review = reviewing.start_review(recording, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_after_post(url_for("reviews.index"))
    db.session.commit()
    return redirect_after_post(url_for("reviews.show", review_id=review.id))


# The review page ------------------------------------------------------------------------

def _review_or_404(review_id: int) -> Review:
    query = access.reviews_scope(current_user).options(
        joinedload(Review.recording).joinedload(Recording.follow_up)
        .joinedload(FollowUp.customer),
        joinedload(Review.rep), joinedload(Review.reviewer),
        joinedload(Review.rubric_version), selectinload(Review.comments),
        selectinload(Review.scores), selectinload(Review.actions))
    return access.get_visible_or_404(query, Review, review_id)


def _editable_or_403(review: Review) -> Review:
    """Only the reviewer writes the review (the rules refuse changes once it is finished)."""
    if review.reviewer_id != current_user.id:
        abort(403)
    return review


def _rep_or_403(review: Review) -> Review:
    if review.rep_id != current_user.id:
        abort(403)
    return review


def _page_context(review: Review, **forms) -> dict:
    today = _local_midnight().date()
    due = [a for a in review.actions if a.recheck_on <= today and a.rechecked_at is None]
    chart = None
    if due and review.reviewer_id == current_user.id:
        end = utcnow()
        start = end - timedelta(days=TREND_DAYS)
        points = trends.score_points([review.rep_id], start, _zone()).get(review.rep_id, {})
        chart = score_chart(points, items_of(current_rubric()), start.date(), end.date())
    context = {
        "review": review, "recording": review.recording,
        "follow_up": review.recording.follow_up, "items": items_of(review.rubric_version),
        "scores": review.score_by_item, "score_values": SCORES,
        "may_edit": review.is_draft and review.reviewer_id == current_user.id,
        "is_rep": review.rep_id == current_user.id, "today": today, "recheck_chart": chart,
        "comment_form": CommentForm(formdata=None),
        "summary_form": SummaryForm(formdata=None, summary=review.summary,
                                    version=review.version),
        "action_form": ActionForm(formdata=None),
        "reply_form": ReplyForm(formdata=None),
        "reply_errors": {},
    }
    context.update(forms)
    return context


@bp.get("/reviews/<int:review_id>")
def show(review_id: int):
    review = _review_or_404(review_id)
    # Opening the review is the read receipt (like a read mark in mail): it changes no
    # content, and doing it twice does nothing more.
    if review.rep_id == current_user.id and review.read_at is None:
        reviewing.mark_read(review, current_user)
    inbox.mark_read(current_user, review_id=review.id)
    db.session.commit()
    return render_page("reviews/show.html", **_page_context(review))


def _refused(review: Review, fragment: str, **forms):
    return render_page("reviews/show.html", fragment, status=form_error_status(),
                       **_page_context(review, **forms))


def _saved(review: Review, fragment: str, anchor: str, **extra):
    """htmx swaps the changed piece; a plain form goes back to the page at that piece."""
    if is_fragment_request():
        return render_page("reviews/show.html", fragment, **_page_context(review, **extra))
    return redirect_after_post(url_for("reviews.show", review_id=review.id) + anchor)


@bp.post("/reviews/<int:review_id>/comments")
def add_comment(review_id: int):
    review = _editable_or_403(_review_or_404(review_id))
    form = CommentForm()
    if form.validate_on_submit():
        try:
            reviewing.add_comment(review, current_user,
                                  at_seconds=reviewing.parse_moment(form.at.data),
                                  kind=form.kind.data, body=form.body.data)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            db.session.refresh(review)
            # The waveform's markers change too: sent along for htmx to swap out of band.
            return _saved(review, "reviews/_comments.html", "#comments", oob_waveform=True,
                          comment_form=CommentForm(formdata=None, kind=form.kind.data))
    return _refused(review, "reviews/_comments.html", comment_form=form)


@bp.post("/reviews/<int:review_id>/comments/<int:comment_id>/delete")
def delete_comment(review_id: int, comment_id: int):
    review = _editable_or_403(_review_or_404(review_id))
    comment = _comment_or_404(review, comment_id)
    try:
        reviewing.delete_comment(review, comment)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_after_post(url_for("reviews.show", review_id=review.id))
    db.session.commit()
    db.session.refresh(review)
    return _saved(review, "reviews/_comments.html", "#comments", oob_waveform=True)


def _comment_or_404(review: Review, comment_id: int) -> ReviewComment:
    comment = next((c for c in review.comments if c.id == comment_id), None)
    if comment is None:
        abort(404)
    return comment


@bp.post("/reviews/<int:review_id>/scores")
def set_score(review_id: int):
    review = _editable_or_403(_review_or_404(review_id))
    item_key = request.form.get("item", "")
    try:
        reviewing.set_score(review, item_key, request.form.get("score", type=int))
    except DomainError as error:
        db.session.rollback()
        return _refused(review, "reviews/_rubric.html", score_error=(item_key, error.message))
    db.session.commit()
    return _saved(review, "reviews/_rubric.html", "#rubric")


@bp.post("/reviews/<int:review_id>/summary")
def save_summary(review_id: int):
    review = _editable_or_403(_review_or_404(review_id))
    form = SummaryForm()
    if form.validate_on_submit():
        try:
            reviewing.save_summary(review, form.opened_version(), form.summary.data)
            db.session.commit()
        except (StaleEdit, StaleDataError):
            db.session.rollback()
            db.session.refresh(review)
            # Keep what was typed; the saved text shows beside it; saving again replaces it.
            form.form_errors.append(StaleEdit().message)
            form.version.data = review.version
            return _refused(review, "reviews/_summary.html", summary_form=form,
                            saved_summary=review.summary or "")
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            return _saved(review, "reviews/_summary.html", "#summary", summary_saved=True)
    return _refused(review, "reviews/_summary.html", summary_form=form)


@bp.post("/reviews/<int:review_id>/actions")
def add_action(review_id: int):
    review = _editable_or_403(_review_or_404(review_id))
    form = ActionForm()
    if form.validate_on_submit():
        try:
            reviewing.add_action(review, form.text.data, form.recheck_on.data,
                                 today=_local_midnight().date())
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            db.session.refresh(review)
            return _saved(review, "reviews/_actions.html", "#actions")
    return _refused(review, "reviews/_actions.html", action_form=form)


@bp.post("/reviews/<int:review_id>/actions/<int:action_id>/recheck")
def recheck(review_id: int, action_id: int):
    """The manager has checked whether the action changed anything."""
    review = _editable_or_403(_review_or_404(review_id))
    action = next((a for a in review.actions if a.id == action_id), None)
    if action is None:
        abort(404)
    reviewing.mark_rechecked(action)
    db.session.commit()
    flash(_("Re-check recorded."), "success")
    if request.form.get("from") == "queue":
        return redirect_after_post(url_for("reviews.index") + "#rechecks")
    return redirect_after_post(url_for("reviews.show", review_id=review.id) + "#actions")


@bp.post("/reviews/<int:review_id>/finish")
def finish(review_id: int):
    review = _editable_or_403(_review_or_404(review_id))
    try:
        reviewing.finish_review(review)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_after_post(url_for("reviews.show", review_id=review.id) + "#finish")
    db.session.commit()
    flash(_("Review finished; %(name)s has been notified.", name=review.rep.name), "success")
    return redirect_after_post(url_for("reviews.index"))


# The rep's side --------------------------------------------------------------------------

@bp.post("/reviews/<int:review_id>/comments/<int:comment_id>/reply")
def reply(review_id: int, comment_id: int):
    review = _rep_or_403(_review_or_404(review_id))
    comment = _comment_or_404(review, comment_id)
    form = ReplyForm()
    if form.validate_on_submit():
        reviewing.reply_to(review, comment, current_user, form.reply.data)
        db.session.commit()
        return _saved(review, "reviews/_comments.html", f"#comment-{comment.id}")
    errors = {comment.id: list(form.reply.errors) or [_("The form had expired. Please submit "
                                                        "it again.")]}
    return _refused(review, "reviews/_comments.html", reply_errors=errors,
                    reply_texts={comment.id: form.reply.data or ""})


@bp.post("/reviews/<int:review_id>/acknowledge")
def acknowledge(review_id: int):
    review = _rep_or_403(_review_or_404(review_id))
    reviewing.acknowledge(review, current_user)
    db.session.commit()
    flash(_("Acknowledged. %(name)s can see it.", name=review.reviewer.name), "success")
    return redirect_after_post(url_for("reviews.show", review_id=review.id))


# Trends and the team table --------------------------------------------------------------

@bp.get("/reviews/trends/<int:user_id>")
def trends_page(user_id: int):
    """One person's scores per rubric item over the last 90 days, and weekly averages."""
    person = db.session.get(User, user_id)
    if person is None or not access.may_see_trends_of(current_user, person):
        abort(404)
    end = utcnow()
    start = end - timedelta(days=TREND_DAYS)
    items = items_of(current_rubric())
    points = trends.score_points([person.id], start, _zone()).get(person.id, {})
    return render_page("reviews/trends.html", person=person, items=items,
                       chart=score_chart(points, items, start.date(), end.date()),
                       weeks=trends.weekly_averages(person.id, start, _zone()),
                       days=TREND_DAYS)


@bp.get("/reviews/team")
def team():
    """Managers (their tree) and admins (everyone): average per item, reviews per week."""
    if current_user.role not in (Role.MANAGER, Role.ADMIN):
        abort(403)
    people_query = select(User).where(User.active.is_(True),
                                      User.role.in_((Role.REP, Role.MANAGER)))
    if current_user.role == Role.MANAGER:
        people_query = people_query.where(User.id.in_(access.reviewed_people(current_user)))
    people = db.session.scalars(people_query.order_by(User.name, User.id)).all()
    ids = [p.id for p in people]
    zone = _zone()
    since = utcnow() - timedelta(days=TREND_DAYS)
    this_week = trends.week_of(utcnow(), zone)
    weeks = [this_week - timedelta(weeks=n) for n in range(7, -1, -1)]
    per_week = trends.reviews_per_manager_week(ids, utcnow() - timedelta(weeks=8, days=1),
                                               zone)
    reviewers = db.session.scalars(select(User).where(User.id.in_(list(per_week)))
                                   .order_by(User.name, User.id)).all() if per_week else []
    return render_page("reviews/team.html", people=people, items=items_of(current_rubric()),
                       averages=trends.item_averages(ids, since),
                       overall=trends.team_averages(ids, since), weeks=weeks,
                       per_week=per_week, reviewers=reviewers, days=TREND_DAYS)


# The rubric (admins) ---------------------------------------------------------------------

@bp.get("/admin/rubric")
@access.roles_required(Role.ADMIN)
def rubric():
    version = current_rubric()
    db.session.commit()
    return render_page("reviews/rubric.html", version=version, items=items_of(version),
                       errors={}, values=None)


@bp.post("/admin/rubric")
@access.roles_required(Role.ADMIN)
def save_rubric_view():
    version = current_rubric()
    items, errors = read_rubric_form(request.form, [raw["key"] for raw in version.items]
                                     or ITEM_KEYS)
    if errors:
        db.session.rollback()
        return render_page("reviews/rubric.html", version=version, items=items_of(version),
                           errors=errors, values=request.form, status=form_error_status())
    saved = save_rubric(items, current_user)
    db.session.commit()
    if saved is None:
        flash(_("Nothing changed; the rubric stays at version %(number)s.",
                number=version.number), "success")
    else:
        flash(_("Rubric saved as version %(number)s. Reviews already started keep the "
                "version they used.", number=saved.number), "success")
    return redirect_after_post(url_for("reviews.rubric"))
