"""Accessibility in a real browser, at phone size (390×844), in both languages.

Every key page is visited once per language and checked in that one visit: axe-core finds no
violation (no rule switched off), and every tappable element is at least 44×44 CSS px. The
review page is then worked by keyboard alone: focus stays where the user was, "Saved" is
announced, and an error is announced and focused.
"""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUpKind
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS

# The review queue and the review page show the world's recording.
pytestmark = pytest.mark.recording

PHONE = {"width": 390, "height": 844}
LANGUAGES = {"zh_CN": "zh-CN", "en": "en"}
MIN_TARGET = 44

# What a finger taps: links, buttons, fields, disclosure summaries, ARIA buttons, and labels
# that wrap their control (the label is the target; a radio or checkbox inside one is not
# measured on its own). Not measured: what is not rendered (hidden, in a closed <details>,
# zero size), visually-hidden text, and links inside running text: an <a> whose parent
# element has text of its own besides the link — at least two letters or digits in the
# parent's own text nodes, so a separator such as " · " between links does not count — the
# "inline" exception of WCAG 2.5.8.
SMALL_TARGETS = """(min) => {
  const tappable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[role=button], label';
  const ownText = (element) => Array.from(element.childNodes)
    .filter((node) => node.nodeType === Node.TEXT_NODE)
    .map((node) => node.textContent).join('');
  const inRunningText = (link) => {
    const parent = link.parentElement;
    return parent !== null && (ownText(parent).match(/[\\p{L}\\p{N}]/gu) || []).length >= 2;
  };
  const describe = (element) => {
    let text = (element.getAttribute('aria-label') || element.textContent || element.value
                || element.name || '').replace(/\\s+/g, ' ').trim().slice(0, 40);
    const classes = element.className && typeof element.className === 'string'
      ? '.' + element.className.trim().split(/\\s+/).join('.') : '';
    return element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + classes
      + (element.type && element.tagName !== 'BUTTON' ? '[' + element.type + ']' : '')
      + ' "' + text + '"';
  };
  const small = [];
  for (const element of document.querySelectorAll(tappable)) {
    if (element.tagName === 'LABEL' && !element.querySelector('input, select, textarea')) {
      continue;
    }
    if (element.matches('input[type=checkbox], input[type=radio]') && element.closest('label')) {
      continue;
    }
    if (element.closest('.visually-hidden')) { continue; }
    if (element.tagName === 'A' && inRunningText(element)) { continue; }
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden' || style.display === 'none') { continue; }
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) { continue; }
    if (box.width < min - 0.5 || box.height < min - 0.5) {
      small.push(describe(element) + ' ' + Math.round(box.width) + 'x'
                 + Math.round(box.height));
    }
  }
  return small;
}"""


# The element the keyboard is on, and whether a finger could see it: the point at its centre
# is the element itself (or inside it), not the sticky top, the player or the bottom bar.
FOCUS = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) { return null; }
  const box = element.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + Math.min(box.height / 2, 20);
  const seen = document.elementFromPoint(x, y);
  return { tag: element.tagName.toLowerCase(), id: element.id, name: element.name || '',
           value: element.value || '', text: element.textContent.trim().slice(0, 40),
           invalid: element.getAttribute('aria-invalid'),
           describedby: element.getAttribute('aria-describedby'),
           inComments: element.closest('#comments') !== null,
           visible: seen !== null && (seen === element || element.contains(seen)
                                       || (element.closest('label') !== null
                                           && seen.closest('label') === element.closest('label')))
         };
}"""


def _focus(page) -> dict:
    return page.evaluate(FOCUS)


def _richer_world(app, world):
    """What the pages show on a working day: a follow-up due today with its next step, a
    customer whose protection ends in three days, and a draft review with one comment."""
    now = utcnow()
    with app.app_context():
        rep = db.session.get(User, world.rep.id)
        customer = db.session.get(Customer, world.customers.rep)
        log_follow_up(customer, rep, kind=FollowUpKind.CALL, occurred_at=now - timedelta(days=2),
                      summary="电话确认需求，客户要报价", next_step="发报价单",
                      next_date=now.date())
        customer.protected_until = now + timedelta(days=3)
        db.session.commit()
        from crm.reminders import sweeps

        sweeps.run_all()  # the notification centre has something to list
        db.session.commit()
    return world.review("draft")


def _voice_objects(app, world) -> tuple[int, int]:
    """A complaint and a survey on the rep's customer (issue 18), made once per test."""
    from crm.voice.feedback import register_feedback
    from crm.voice.models import Channel, Feedback, FeedbackKind, Severity, Survey, SurveyReason
    from crm.voice.surveys import create_survey

    with app.app_context():
        existing = db.session.scalar(db.select(Feedback.id).limit(1))
        if existing is not None:
            return existing, db.session.scalar(db.select(Survey.id).limit(1))
        customer = db.session.get(Customer, world.customers.rep)
        rep = db.session.get(User, world.rep.id)
        feedback = register_feedback(customer, rep, kind=FeedbackKind.COMPLAINT,
                                     channel=Channel.VISIT, severity=Severity.HIGH,
                                     summary="安装延误")
        survey = create_survey(customer, rep, reason=SurveyReason.WON_DEAL)
        db.session.commit()
        return feedback.id, survey.id


class Checker:
    """One language: a browser context at phone size; each page is checked once, in one visit,
    and every finding is kept so the test reports them all at the end."""

    def __init__(self, browser, base: str, language: str):
        self.context = browser.new_context(viewport=PHONE, locale=LANGUAGES[language],
                                           is_mobile=True, has_touch=True)
        self.page = self.context.new_page()
        self.base = base
        self.language = language
        self.axe = Axe()
        self.findings: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # A script error or a CSP refusal logged on any page fails the test, as in conftest.
        self.page.on("console", lambda message: self.errors.append(message.text)
                     if message.type == "error" else None)
        self.checked: list[str] = []

    def sign_in(self, email: str) -> None:
        self.context.clear_cookies()
        self.page.goto(f"{self.base}/login")
        self.page.fill("#email", email)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit].primary")
        expect(self.page).to_have_url(f"{self.base}/")  # Today

    def visit(self, name: str, path: str | None = None) -> None:
        if path is not None:
            self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state("load")
        assert self.page.evaluate("document.documentElement.lang") == LANGUAGES[self.language]
        self.check(name)

    def check(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"a11y-{self.language}-{name}.png"),
                             full_page=True)
        # What folds away (filters, Move, Release, the delete confirmation) is checked open.
        self.page.evaluate("document.querySelectorAll('details').forEach("
                           "d => { d.open = true; })")
        results = self.axe.run(self.page)
        if results.violations_count:
            self.findings.append(f"[{self.language}] {name}: axe\n{results.generate_report()}")
        small = self.page.evaluate(SMALL_TARGETS, MIN_TARGET)
        if small:
            self.findings.append(f"[{self.language}] {name}: targets under "
                                 f"{MIN_TARGET}×{MIN_TARGET} px:\n  " + "\n  ".join(small))
        self.checked.append(name)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def checker(browser, live_server):
    made = []

    def make(language: str) -> Checker:
        made.append(Checker(browser, live_server, language))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_key_pages_pass_axe_and_have_large_tap_targets(app, world, checker, language):
    review = _richer_world(app, world)
    check = checker(language)
    page = check.page

    check.visit("login", "/login")

    check.sign_in(world.rep.email)
    check.visit("today-rep")
    check.visit("customers", "/customers")
    check.visit("pool", "/customers?tab=pool")
    check.visit("customer-card", f"/customers/{world.customers.rep}")
    check.visit("log-a-visit", f"/customers/{world.customers.rep}/follow-ups/new")
    # The fixed bottom navigation must not hide the field the keyboard is on.
    page.focus("#next_step")
    page.keyboard.press("Tab")
    expect(page.locator("#next_date")).to_be_focused()
    if not _focus(page)["visible"]:
        check.findings.append(f"[{language}] log-a-visit: the focused next date is hidden "
                              f"(under the bottom navigation?) {_focus(page)}")
    check.visit("pipeline", "/pipeline")
    page.locator(".board-column.is-current .move-link").first.click()
    expect(page.locator("#move-dialog")).to_be_visible()
    check.check("pipeline-move-dialog")  # the board's one Move dialog, open
    page.keyboard.press("Escape")
    check.visit("more", "/more")
    check.visit("dashboard-rep", "/dashboard")
    check.visit("waiting-to-send", "/offline")
    check.visit("check-ins", "/check-ins")
    check.visit("notifications", "/notifications")
    check.visit("notification-preferences", "/notifications/preferences")
    check.visit("tasks", "/tasks")
    check.visit("new-task", "/tasks/new")
    feedback_id, survey_id = _voice_objects(app, world)
    check.visit("feedback", f"/feedback/{feedback_id}")
    check.visit("survey-share", f"/surveys/{survey_id}")
    check.visit("care", "/care")

    check.sign_in(world.manager.email)
    check.visit("today-manager")
    check.visit("customers-team", "/customers?tab=team")  # with the transfer ticks
    check.visit("review-sheet", "/pipeline/sheet")
    check.visit("review-queue", "/reviews")
    check.visit("review", f"/reviews/{review.id}")
    check.visit("routing", f"/routing/teams/{world.teams.sh1}")
    check.visit("dashboard", "/dashboard?period=week")
    check.visit("goals", "/goals")
    check.visit("reports", "/reports")
    check.visit("report", f"/reports/{world.report_run}")
    check.visit("feedback-list", "/feedback")
    check.visit("satisfaction", "/satisfaction")
    check.visit("member-days", "/member-days")

    check.sign_in(world.admin.email)
    check.visit("admin-users", "/admin/users")
    check.visit("lead-form", _lead_form_url(app, world))
    check.visit("data-requests", "/admin/data-requests")
    check.visit("data-request-new", "/admin/data-requests/new")
    check.visit("audit-trail", "/admin/audit")
    check.visit("retention", "/admin/retention")

    assert len(check.checked) >= 12
    assert check.errors == [], check.errors
    assert not check.findings, "\n\n".join(check.findings)


def _lead_form_url(app, world) -> str:
    """The public lead form of a team (opened for the check; the page needs no sign-in)."""
    from crm.accounts.models import Team
    from crm.routing.setup import renew_lead_form

    with app.app_context():
        token = renew_lead_form(db.session.get(Team, world.teams.sh1))
        db.session.commit()
    return f"/leads/{token}"


def _score_of(app, review_id: int, key: str):
    from crm.reviews.models import Review

    with app.app_context():
        return db.session.get(Review, review_id).score_by_item.get(key)


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_review_by_keyboard_keeps_focus_and_announces(page, live_server, app, world, sign_in,
                                                      shot):
    review = world.review("draft")
    sign_in(world.manager.email)
    page.goto(f"{live_server}/reviews/{review.id}")
    announcer = page.locator("#announcer")
    saves = []
    page.on("request", lambda request: saves.append(request.url)
            if request.method == "POST" and request.url.endswith("/scores") else None)

    # Scores: Tab into the first item's radio group and arrow across the levels. Focus stays
    # on the radio, the quick changes end in one or two saves (not one per key), and only the
    # item's status is swapped.
    item = page.locator(".rubric-item").first
    radios = item.locator("input[type=radio]")
    page.locator("a[href*='#follow-up-']").first.focus()  # the visit's card, just above
    page.keyboard.press("Tab")
    expect(radios.nth(0)).to_be_focused()
    changes = ["ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"]
    for key in changes:
        page.keyboard.press(key)
    expect(radios.nth(3)).to_be_checked()
    # The last save answers with what 4 means (the label's title) and "Saved".
    meaning = item.locator(".scores label").nth(3).get_attribute("title")
    expect(item.locator(".score-status")).to_contain_text(meaning)
    expect(item.locator(".score-status .saved")).to_be_visible()
    expect(announcer).to_contain_text("已保存")
    expect(radios.nth(3)).to_be_focused()
    assert _focus(page)["visible"]
    assert _score_of(app, review.id, "opening") == 4
    assert 1 <= len(saves) < len(changes), saves

    # Tab goes on to the next item's group (the no-script Save buttons are out of the way);
    # Space picks its first level, which saves too.
    second = page.locator(".rubric-item").nth(1)
    page.keyboard.press("Tab")
    expect(second.locator("input[type=radio]").nth(0)).to_be_focused()
    page.keyboard.press("Space")
    expect(second.locator(".score-status .saved")).to_be_visible()
    expect(second.locator("input[type=radio]").nth(0)).to_be_focused()
    shot("scored")

    # A comment by keyboard: the moment, Tab past "Comment here" to the kind and the text,
    # Tab to "Add comment", Enter. The comment is listed, it is announced, and focus is still
    # on "Add comment", ready for the next one.
    comments = page.locator("#comments .comment")
    expect(comments).to_have_count(1)
    page.locator("#at").focus()
    page.keyboard.type("0:00.5")
    page.keyboard.press("Tab")  # "Comment here"
    page.keyboard.press("Tab")  # the kind
    expect(page.locator("#kind")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#body")).to_be_focused()
    page.keyboard.type("客户问价格时没有先了解预算")
    page.keyboard.press("Tab")
    add = page.locator("#comments form.comment-form button[type=submit]")
    expect(add).to_be_focused()
    page.keyboard.press("Enter")
    expect(comments).to_have_count(2)
    expect(announcer).to_contain_text("点评已添加")
    expect(add).to_be_focused()
    assert _focus(page)["visible"]

    # Enter again on the now empty form: the error is an alert, and focus is on the field
    # it is about, which the alert describes.
    page.keyboard.press("Enter")
    alert = page.locator("#comments [role=alert]")
    expect(alert).to_be_visible()
    expect(page.locator("#comments [aria-invalid=true]").first).to_be_focused()
    focused = _focus(page)
    assert focused["invalid"] == "true" and focused["visible"], focused
    expect(page.locator(f"#{focused['describedby']}")).to_have_attribute("role", "alert")
    shot("comment-error")

    # Deleting asks first: "Delete" opens the confirmation, whose button deletes. Focus lands
    # in the comments (their heading), and the deletion is announced.
    delete = comments.first.locator("details.confirm summary")
    delete.focus()
    page.keyboard.press("Enter")
    confirm = comments.first.locator("details.confirm button[type=submit]")
    expect(confirm).to_be_visible()
    shot("delete-confirm")
    page.keyboard.press("Tab")
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(comments).to_have_count(1)
    expect(announcer).to_contain_text("点评已删除")
    assert _focus(page)["inComments"], _focus(page)

    # The summary: its field is named by its label, and "Saved" is announced.
    summary = page.get_by_label("总结", exact=True)
    expect(summary).to_have_attribute("id", "summary-text")
    summary.focus()
    page.keyboard.type("需求挖掘要更早，报价前先问预算。")
    page.keyboard.press("Tab")
    save = page.locator("#summary button[type=submit]")
    expect(save).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#summary .saved")).to_be_visible()
    expect(announcer).to_have_text("已保存。")
    expect(save).to_be_focused()
    assert _focus(page)["visible"]
