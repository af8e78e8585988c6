"""The scorecard (rubric): built-in wording, the versions an admin's edits create, and what a
review's own version says."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.extensions import db
from crm.reviews.models import RubricVersion

SCORES = (1, 2, 3, 4, 5)

# The built-in rubric: used until an admin edits it, and shown in the reader's language.
BUILT_IN = {
    "opening": (_l("Opening"), (
        _l("No greeting or purpose; the customer is unsure why we called."),
        _l("Greets, but the purpose is vague."),
        _l("Clear greeting and purpose."),
        _l("Clear purpose and earns the customer's time."),
        _l("Warm, clear and tailored to this customer; the customer engages at once."))),
    "needs_discovery": (_l("Needs discovery"), (
        _l("Asks no questions; pitches straight away."),
        _l("A few closed questions."),
        _l("Open questions about the main need."),
        _l("Uncovers the need, the pain and who decides."),
        _l("Uncovers need, pain, budget, timing and decision-makers, and confirms them."))),
    "presentation": (_l("Presentation"), (
        _l("Lists features unrelated to the need."),
        _l("Mostly features, a little benefit."),
        _l("Links the product to the stated need."),
        _l("Shows benefits in the customer's own terms."),
        _l("Tailored story with proof (cases, figures) for this customer."))),
    "objection_handling": (_l("Objection handling"), (
        _l("Argues or ignores the objection."),
        _l("Answers defensively."),
        _l("Acknowledges and answers the objection."),
        _l("Finds the real concern behind the objection and answers it."),
        _l("Turns the objection into a reason to go ahead."))),
    "closing": (_l("Closing"), (
        _l("Never asks for a commitment."),
        _l("Asks weakly or too early."),
        _l("Asks for a clear commitment."),
        _l("Asks at the right moment and handles hesitation."),
        _l("Secures a firm commitment the customer states in their own words."))),
    "next_step": (_l("Next step"), (
        _l("No next step agreed."),
        _l("A vague next step (\"I'll call you\")."),
        _l("A next step with a date."),
        _l("A next step with date, owner and purpose."),
        _l("A next step both sides confirmed, logged with its date."))),
}
ITEM_KEYS = tuple(BUILT_IN)


@dataclass(frozen=True)
class RubricItem:
    key: str
    label: str
    levels: tuple[str, ...]  # five descriptions, for scores 1..5


def items_of(version: RubricVersion) -> list[RubricItem]:
    """A version's items in its own wording, built-in texts in the reader's language."""
    items = []
    for raw in version.items:
        built_in = BUILT_IN.get(raw["key"], (raw["key"], ("",) * 5))
        label = raw.get("label") or str(built_in[0])
        levels = tuple(text or str(default) for text, default
                       in zip(raw.get("levels") or (None,) * 5, built_in[1], strict=True))
        items.append(RubricItem(raw["key"], label, levels))
    return items


def built_in_items() -> list[dict]:
    """The built-in rubric as a version stores it: None means the built-in wording."""
    return [{"key": key, "label": None, "levels": [None] * 5} for key in ITEM_KEYS]


def current_rubric() -> RubricVersion:
    """The latest version. The migrations store the built-in one as version 1; where a
    database lost it, the built-in wording stands in, unsaved (reading never writes)."""
    latest = db.session.scalars(
        select(RubricVersion).order_by(RubricVersion.number.desc()).limit(1)).first()
    return latest or RubricVersion(number=1, items=built_in_items())


def rubric_for_new_review() -> RubricVersion:
    """The version a review starts on, stored if it was the unsaved stand-in."""
    version = current_rubric()
    if version.id is None:
        db.session.add(version)
        db.session.flush()
    return version


def save_rubric(items: list[dict], by) -> RubricVersion | None:
    """Store edited wording as a new version (old reviews keep theirs); None if unchanged."""
    current = current_rubric()
    shown = [{"key": item.key, "label": item.label, "levels": list(item.levels)}
             for item in items_of(current)]
    if items == shown:
        return None
    number = (db.session.scalar(select(func.max(RubricVersion.number))) or 0) + 1
    version = RubricVersion(number=number, items=items, created_by_id=by.id)
    db.session.add(version)
    db.session.flush()
    return version
