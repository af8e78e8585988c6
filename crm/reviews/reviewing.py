"""The review loop's rules: start, comment, score, summarise, set actions, finish; the rep
reads, replies and acknowledges. Views, the demo and tests all go through here."""

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.accounts.models import User
from crm.clock import utcnow
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.notifications.inbox import notify
from crm.notifications.models import NotificationKind
from crm.recordings.models import Recording, RecordingStatus
from crm.reviews.models import (
    CommentKind,
    ImprovementAction,
    Review,
    ReviewComment,
    ReviewScore,
    ReviewStatus,
)
from crm.reviews.rubric import SCORES, items_of, rubric_for_new_review

# [-][[h:]m:]s[.f]: what a person types ("1:05", "1:02:03") or the player gives ("83.4").
_CLOCK = re.compile(r"^(-)?(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d+)?)$")


def parse_moment(text: str | None) -> float | None:
    """The moment typed, in seconds (negative stays negative, for the rule to refuse);
    None when it is not a time at all."""
    match = _CLOCK.match((text or "").strip())
    if not match:
        return None
    sign, hours, minutes, seconds = match.groups()
    if minutes is not None and float(seconds) >= 60:
        return None
    value = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)
    return -value if sign else value


def start_review(recording: Recording, reviewer: User) -> Review:
    """The review of this recording: the existing one, or a new draft on today's rubric."""
    existing = db.session.scalars(select(Review).where(
        Review.recording_id == recording.id)).first()
    if existing is not None:
        return existing
    if recording.status != RecordingStatus.READY:
        raise DomainError(_l("Only a recording that is ready to play can be reviewed."))
    review = Review(recording_id=recording.id, rep_id=recording.follow_up.author_id,
                    reviewer_id=reviewer.id, rubric_version_id=rubric_for_new_review().id)
    db.session.add(review)
    db.session.flush()
    return review


def _editable(review: Review) -> None:
    if not review.is_draft:
        raise DomainError(_l("This review is finished; it can no longer be changed."))


def add_comment(review: Review, author: User, *, at_seconds: float | None, kind: str,
                body: str) -> ReviewComment:
    _editable(review)
    duration = review.recording.duration_seconds or 0
    if at_seconds is None:
        raise DomainError(_l("Give the moment as minutes:seconds, for example 1:05."),
                          field="at")
    if at_seconds < 0:
        raise DomainError(_l("The moment cannot be before the recording starts."), field="at")
    if at_seconds > duration:
        raise DomainError(_l("The recording is only %(length)s long; pick a moment within it.",
                             length=clock(duration)), field="at")
    if kind not in set(CommentKind):
        raise DomainError(_l("Choose praise, issue or suggestion."), field="kind")
    if not (body or "").strip():
        raise DomainError(_l("Write the comment."), field="body")
    comment = ReviewComment(review=review, author_id=author.id, at_seconds=round(at_seconds, 1),
                            kind=CommentKind(kind), body=body.strip())
    db.session.add(comment)
    db.session.flush()
    return comment


def delete_comment(review: Review, comment: ReviewComment) -> None:
    _editable(review)
    db.session.delete(comment)


def set_score(review: Review, item_key: str, score: int | None) -> None:
    """One rubric item's score, saved on its own; the item must be in the review's rubric."""
    _editable(review)
    if item_key not in {item.key for item in items_of(review.rubric_version)}:
        raise DomainError(_l("This item is not on the review's scorecard."))
    if score not in SCORES:
        raise DomainError(_l("Score from 1 to 5."))
    existing = next((s for s in review.scores if s.item_key == item_key), None)
    if existing is None:
        review.scores.append(ReviewScore(item_key=item_key, score=score))
    else:
        existing.score = score
    db.session.flush()


def save_summary(review: Review, opened_version: int, summary: str) -> None:
    _editable(review)
    if opened_version != review.version:
        raise StaleEdit()
    review.summary = (summary or "").strip() or None
    db.session.flush()


def add_action(review: Review, text: str, recheck_on: date | None,
               today: date | None = None) -> ImprovementAction:
    """`today` is the manager's own date (their time zone decides when a day starts)."""
    _editable(review)
    if not (text or "").strip():
        raise DomainError(_l("Say what the rep should change."), field="text")
    if recheck_on is None:
        raise DomainError(_l("Pick the date to check whether it changed."), field="recheck_on")
    if recheck_on <= (today or utcnow().date()):
        raise DomainError(_l("The re-check date must be after today."), field="recheck_on")
    action = ImprovementAction(review=review, text=text.strip(), recheck_on=recheck_on)
    db.session.add(action)
    db.session.flush()
    return action


def mark_rechecked(action: ImprovementAction) -> None:
    if action.rechecked_at is None:
        action.rechecked_at = utcnow()


def missing_scores(review: Review) -> list[str]:
    scored = review.score_by_item
    return [item.label for item in items_of(review.rubric_version) if item.key not in scored]


def finish_review(review: Review) -> None:
    """Send it to the rep: every rubric item scored, then a notification."""
    _editable(review)
    missing = missing_scores(review)
    if missing:
        raise DomainError(_l("Score every item before finishing: %(items)s.",
                             items="、".join(missing)))
    review.status = ReviewStatus.FINISHED
    review.finished_at = utcnow()
    notify(review.rep_id, NotificationKind.REVIEW_FINISHED, review_id=review.id,
           dedupe_key=f"review_finished:{review.id}:{review.rep_id}",
           link=f"/reviews/{review.id}")
    db.session.flush()


def mark_read(review: Review, reader: User) -> None:
    if review.rep_id == reader.id and review.read_at is None and not review.is_draft:
        review.read_at = utcnow()


def reply_to(review: Review, comment: ReviewComment, rep: User, text: str) -> None:
    if review.rep_id != rep.id or review.is_draft:
        raise DomainError(_l("Only the rep whose recording this is may reply."))
    if not (text or "").strip():
        raise DomainError(_l("Write your reply."), field="reply")
    first = comment.reply is None
    comment.reply = text.strip()
    comment.replied_at = utcnow()
    if first:
        notify(review.reviewer_id, NotificationKind.REVIEW_REPLY, review_id=review.id,
               dedupe_key=f"review_reply:{comment.id}:{review.reviewer_id}",
               link=f"/reviews/{review.id}")
    db.session.flush()


def acknowledge(review: Review, rep: User) -> None:
    if review.rep_id != rep.id or review.is_draft:
        raise DomainError(_l("Only the rep whose recording this is may acknowledge it."))
    if review.acknowledged_at is None:
        review.acknowledged_at = utcnow()
        review.read_at = review.read_at or review.acknowledged_at
        notify(review.reviewer_id, NotificationKind.REVIEW_ACKNOWLEDGED, review_id=review.id,
               dedupe_key=f"review_acknowledged:{review.id}:{review.reviewer_id}",
               link=f"/reviews/{review.id}")
        db.session.flush()


def clock(seconds: float) -> str:
    """Seconds as the player shows them: 1:05, or 1:02:07."""
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
