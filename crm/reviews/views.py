"""Reviews (录音分析): the manager's queue, the review page with its incremental saves, the
rep's side of the loop, trends, the team table and the rubric editor."""

from datetime import timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access, clock
from crm.accounts.models import User
from crm.accounts.teams import rules_for
from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import KIND_LABELS
from crm.htmx import form_error_status, is_fragment_request, redirect_after_post, render_page
from crm.notifications import inbox
from crm.notifications.models import NOTIFICATION_LABELS, NotificationKind
from crm.params import int_arg
from crm.reviews import reviewing, trends, worklist
from crm.reviews.charts import score_chart
from crm.reviews.forms import (
    ActionForm,
    CommentForm,
    ReplyForm,
    ScoreForm,
    SummaryForm,
    read_rubric_form,
)
from crm.reviews.models import COMMENT_KIND_LABELS, ImprovementAction, Review, ReviewComment
from crm.reviews.rubric import ITEM_KEYS, SCORES, current_rubric, items_of, save_rubric
from crm.saving import run_change, save_form, saved_and_go

# The review page's news lists review notifications only (reminders have their own centre).
REVIEW_KINDS = (NotificationKind.REVIEW_FINISHED, NotificationKind.REVIEW_REPLY,
                NotificationKind.REVIEW_ACKNOWLEDGED)

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


# The queue and the lists ----------------------------------------------------------------

@bp.get("/reviews")
def index():
    """Managers: the queue and what follows up on finished reviews. Reps (and admins, for
    everyone): finished reviews, newest first."""
    after = request.args.get("after")
    if not access.may_review_recordings(current_user):
        page = worklist.reviews_list(current_user, after,
                                     own_only=not access.reads_every_review(current_user))
        return render_page("reviews/mine.html", "reviews/_review_rows.html", page=page,
                           notifications=inbox.unread(current_user.id, kinds=REVIEW_KINDS))
    rep_id = int_arg(request.args, "rep")
    kind = request.args.get("kind") or None
    page = worklist.unreviewed(current_user, rep_id=rep_id, kind=kind, after=after)
    if is_fragment_request():
        return render_page("reviews/queue.html", "reviews/_queue_rows.html", page=page)
    today = clock.local_midnight()
    reps = db.session.scalars(select(User).where(
        User.id.in_(access.reviewed_people(current_user)), User.active.is_(True))
        .order_by(User.name, User.id)).all()
    due = worklist.rechecks_due(current_user, today.date())
    return render_page(
        "reviews/queue.html", page=page, reps=reps, rep_id=rep_id, kind=kind,
        kinds=[(k, KIND_LABELS[k]) for k in worklist.QUEUE_KINDS],
        done_today=worklist.finished_since(current_user, today),
        target=rules_for(current_user).daily_review_target,
        drafts=worklist.drafts_of(current_user),
        awaiting=worklist.awaiting_acknowledgement(current_user),
        due=due, charts=_recheck_charts(due),
        notifications=inbox.unread(current_user.id, kinds=REVIEW_KINDS))


def _recheck_charts(actions: list[ImprovementAction]) -> dict[int, dict]:
    """Per rep with a re-check due: their scores per item over the last 90 days."""
    rep_ids = {action.review.rep_id for action in actions}
    if not rep_ids:
        return {}
    end = utcnow()
    start = end - timedelta(days=TREND_DAYS)
    points = trends.score_points(rep_ids, start, clock.user_zone())
    items = items_of(current_rubric())
    return {rep_id: score_chart(points.get(rep_id, {}), items, start.date(), end.date())
            for rep_id in rep_ids}


# Starting a review ----------------------------------------------------------------------

@bp.post("/recordings/<int:recording_id>/review")
def start(recording_id: int):
    recording = access.recording_to_review_or_404(current_user, recording_id)
    return run_change(
        lambda: reviewing.start_review(recording, current_user),
        done=lambda review: saved_and_go(url_for("reviews.show", review_id=review.id)),
        refused_url=url_for("reviews.index"))


# The review page ------------------------------------------------------------------------

def _review_or_404(review_id: int, **role) -> Review:
    return access.review_or_404(current_user, review_id, **role)


def _as_reviewer(review_id: int) -> Review:
    """Only the reviewer writes the review (the rules refuse changes once it is finished)."""
    return _review_or_404(review_id, as_reviewer=True)


def _as_rep(review_id: int) -> Review:
    return _review_or_404(review_id, as_rep=True)


def _page_context(review: Review, **forms) -> dict:
    today = clock.local_today()
    due = [a for a in review.actions if a.recheck_on <= today and a.rechecked_at is None]
    chart = None
    if due and review.reviewer_id == current_user.id:
        end = utcnow()
        start = end - timedelta(days=TREND_DAYS)
        points = trends.score_points([review.rep_id], start,
                                     clock.user_zone()).get(review.rep_id, {})
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


def _refused(review: Review, fragment: str, status: int | None = None, **forms):
    return render_page("reviews/show.html", fragment,
                       status=status if status is not None else form_error_status(),
                       **_page_context(review, **forms))


def _saved(review: Review, fragment: str, anchor: str, **extra):
    """htmx swaps the changed piece; a plain form goes back to the page at that piece."""
    if is_fragment_request():
        return render_page("reviews/show.html", fragment, **_page_context(review, **extra))
    return redirect_after_post(url_for("reviews.show", review_id=review.id) + anchor)


@bp.post("/reviews/<int:review_id>/comments")
def add_comment(review_id: int):
    review = _as_reviewer(review_id)
    form = CommentForm()

    def saved(_comment):
        db.session.refresh(review)
        # The waveform's markers change too: sent along for htmx to swap out of band.
        return _saved(review, "reviews/_comments.html", "#comments", oob_waveform=True,
                      comment_form=CommentForm(formdata=None, kind=form.kind.data),
                      announce=_("Comment added."))

    return save_form(
        form, lambda: reviewing.add_comment(review, current_user,
                                            at_seconds=reviewing.parse_moment(form.at.data),
                                            kind=form.kind.data, body=form.body.data),
        page=lambda status: _refused(review, "reviews/_comments.html", status,
                                     comment_form=form),
        done=saved)


@bp.post("/reviews/<int:review_id>/comments/<int:comment_id>/delete")
def delete_comment(review_id: int, comment_id: int):
    review = _as_reviewer(review_id)
    comment = _comment_or_404(review, comment_id)

    def deleted(_result):
        db.session.refresh(review)
        return _saved(review, "reviews/_comments.html", "#comments", oob_waveform=True,
                      announce=_("Comment deleted."))

    return run_change(lambda: reviewing.delete_comment(review, comment), done=deleted,
                      refused_url=url_for("reviews.show", review_id=review.id))


def _comment_or_404(review: Review, comment_id: int) -> ReviewComment:
    comment = next((c for c in review.comments if c.id == comment_id), None)
    if comment is None:
        abort(404)
    return comment


@bp.post("/reviews/<int:review_id>/scores")
def set_score(review_id: int):
    review = _as_reviewer(review_id)
    form = ScoreForm()

    # htmx swaps only the item's status (what the score means, "Saved", or why not): the
    # radios stay in place, so the keyboard keeps its place in the group.
    item = next((i for i in items_of(review.rubric_version) if i.key == form.item.data),
                None)
    fragment = "reviews/_score_status.html" if item else "reviews/_rubric.html"

    def page(status):
        errors = [*form.form_errors, *form.score.errors]
        return _refused(review, fragment, status, item=item,
                        score_error=(form.item.data, errors[0] if errors else ""))

    return save_form(form, lambda: reviewing.set_score(review, form.item.data, form.score.data),
                     page=page, done=lambda _score: _saved(review, fragment, "#rubric",
                                                           item=item, score_saved=True))


@bp.post("/reviews/<int:review_id>/summary")
def save_summary(review_id: int):
    review = _as_reviewer(review_id)
    form = SummaryForm()

    def page(status, stale=False):
        # Stale: keep what was typed; the saved text shows beside it; saving again replaces it.
        saved = {"saved_summary": review.summary or ""} if stale else {}
        return _refused(review, "reviews/_summary.html", status=status, summary_form=form,
                        **saved)

    return save_form(
        form, lambda: reviewing.save_summary(review, form.opened_version(), form.summary.data),
        page=page, saved=review,
        done=lambda _result: _saved(review, "reviews/_summary.html", "#summary",
                                    summary_saved=True))


@bp.post("/reviews/<int:review_id>/actions")
def add_action(review_id: int):
    review = _as_reviewer(review_id)
    form = ActionForm()

    def saved(_action):
        db.session.refresh(review)
        return _saved(review, "reviews/_actions.html", "#actions", announce=_("Action added."))

    return save_form(
        form, lambda: reviewing.add_action(review, form.text.data, form.recheck_on.data,
                                           today=clock.local_today()),
        page=lambda status: _refused(review, "reviews/_actions.html", status,
                                     action_form=form),
        done=saved)


@bp.post("/reviews/<int:review_id>/actions/<int:action_id>/recheck")
def recheck(review_id: int, action_id: int):
    """The manager has checked whether the action changed anything."""
    review = _as_reviewer(review_id)
    action = next((a for a in review.actions if a.id == action_id), None)
    if action is None:
        abort(404)
    back = (url_for("reviews.index") + "#rechecks" if request.form.get("from") == "queue"
            else url_for("reviews.show", review_id=review.id) + "#actions")
    return run_change(lambda: reviewing.mark_rechecked(action),
                      done=lambda _result: saved_and_go(back, _("Re-check recorded.")),
                      refused_url=back)


@bp.post("/reviews/<int:review_id>/finish")
def finish(review_id: int):
    review = _as_reviewer(review_id)
    return run_change(
        lambda: reviewing.finish_review(review),
        done=lambda _result: saved_and_go(url_for("reviews.index"), _(
            "Review finished; %(name)s has been notified.", name=review.rep.name)),
        refused_url=url_for("reviews.show", review_id=review.id) + "#finish")


# The rep's side --------------------------------------------------------------------------

@bp.post("/reviews/<int:review_id>/comments/<int:comment_id>/reply")
def reply(review_id: int, comment_id: int):
    review = _as_rep(review_id)
    comment = _comment_or_404(review, comment_id)
    form = ReplyForm()

    def page(status):
        errors = list(form.reply.errors) or [*form.form_errors] or [
            _("The form had expired. Please submit it again.")]
        return _refused(review, "reviews/_comments.html", status,
                        reply_errors={comment.id: errors},
                        reply_texts={comment.id: form.reply.data or ""})

    return save_form(
        form, lambda: reviewing.reply_to(review, comment, current_user, form.reply.data),
        page=page, done=lambda _reply: _saved(review, "reviews/_comments.html",
                                              f"#comment-{comment.id}",
                                              announce=_("Reply sent.")))


@bp.post("/reviews/<int:review_id>/acknowledge")
def acknowledge(review_id: int):
    review = _as_rep(review_id)
    page = url_for("reviews.show", review_id=review.id)
    return run_change(lambda: reviewing.acknowledge(review, current_user),
                      done=lambda _result: saved_and_go(page, _(
                          "Acknowledged. %(name)s can see it.", name=review.reviewer.name)),
                      refused_url=page)


# Trends and the team table --------------------------------------------------------------

@bp.get("/reviews/trends/<int:user_id>")
def trends_page(user_id: int):
    """One person's scores per rubric item over the last 90 days, and weekly averages."""
    person = access.trends_person_or_404(current_user, user_id)
    end = utcnow()
    start = end - timedelta(days=TREND_DAYS)
    items = items_of(current_rubric())
    points = trends.score_points([person.id], start, clock.user_zone()).get(person.id, {})
    return render_page("reviews/trends.html", person=person, items=items,
                       chart=score_chart(points, items, start.date(), end.date()),
                       weeks=trends.weekly_averages(person.id, start, clock.user_zone()),
                       days=TREND_DAYS)


@bp.get("/reviews/team")
def team():
    """Managers (their tree) and admins (everyone): average per item, reviews per week."""
    if not access.may_see_team_reviews(current_user):
        abort(403)
    people = db.session.scalars(access.team_review_people(current_user)
                                .order_by(User.name, User.id)).all()
    ids = [p.id for p in people]
    zone = clock.user_zone()
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
@access.requires(access.may_edit_rubric)
def rubric():
    version = current_rubric()
    return render_page("reviews/rubric.html", version=version, items=items_of(version),
                       errors={}, values=None)


@bp.post("/admin/rubric")
@access.requires(access.may_edit_rubric)
def save_rubric_view():
    version = current_rubric()
    items, errors = read_rubric_form(request.form, [raw["key"] for raw in version.items]
                                     or ITEM_KEYS)
    if errors:
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
