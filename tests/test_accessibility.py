"""What the pages say to assistive technology, checked in their HTML (the browser checks, axe
and tap-target sizes, are in tests/e2e/test_accessibility.py)."""

import re

import pytest

# The review page's tests need the world's recording.
pytestmark = pytest.mark.recording

EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


def test_every_page_has_a_live_region_before_anything_changes(client, login_as):
    assert 'id="announcer"' in client.get("/login").get_data(as_text=True)
    page = login_as("rep").get("/", headers=EN).get_data(as_text=True)
    assert re.search(r'<div id="announcer"[^>]* role="status" aria-live="polite"', page)


def test_a_score_saves_without_replacing_the_radios(world, login_as):
    review = world.review("draft")
    manager = login_as("manager")
    page = manager.get(f"/reviews/{review.id}", headers=EN).get_data(as_text=True)
    assert 'hx-target="#score-status-opening" hx-swap="innerHTML"' in page
    assert 'hx-trigger="change delay:400ms" hx-sync="this:replace"' in page
    saved = manager.post_form(f"/reviews/{review.id}/scores", {"item": "opening", "score": "4"},
                              headers=HTMX).get_data(as_text=True)
    # Only the item's status: what 4 means, and "Saved." for the live region.
    assert 'type="radio"' not in saved and "<section" not in saved
    assert "data-announce" in saved and "Saved." in saved
    refused = manager.post_form(f"/reviews/{review.id}/scores",
                                {"item": "opening", "score": "9"}, headers=HTMX)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'role="alert"' in text and "Score from 1 to 5" in text


def test_the_summary_field_has_its_own_id_and_label(world, login_as):
    review = world.review("draft")
    page = login_as("manager").get(f"/reviews/{review.id}", headers=EN).get_data(as_text=True)
    assert page.count('id="summary"') == 1  # the card; the field is summary-text
    assert '<label for="summary-text">Summary</label>' in page
    assert re.search(r'<textarea[^>]* id="summary-text"[^>]* name="summary"', page)


def test_deleting_a_comment_asks_first_without_script(world, login_as):
    review = world.review("draft")
    page = login_as("manager").get(f"/reviews/{review.id}", headers=EN).get_data(as_text=True)
    confirm = page[page.index('<details class="confirm">'):]
    confirm = confirm[:confirm.index("</details>")]
    assert "<summary" in confirm and "Yes, delete this comment" in confirm
    assert f'action="/reviews/{review.id}/comments/{review.comment}/delete"' in confirm


def test_errors_are_alerts_on_the_field_they_describe(world, login_as):
    review = world.review("draft")
    answer = login_as("manager").post_form(f"/reviews/{review.id}/comments",
                                           {"at": "", "kind": "issue", "body": "x"},
                                           headers=HTMX).get_data(as_text=True)
    assert re.search(r'aria-describedby="at-errors"[^>]*aria-invalid="true"|'
                     r'aria-invalid="true"[^>]*aria-describedby="at-errors"', answer)
    assert '<ul class="errors" id="at-errors" role="alert">' in answer


def test_a_check_box_is_inside_its_label(client):
    page = client.get("/login", headers=EN).get_data(as_text=True)
    assert re.search(r'<label for="remember" class="check"><input[^>]*id="remember"', page)


def test_log_a_visit_starts_at_its_first_field(world, login_as):
    page = login_as("rep").get(f"/customers/{world.customers.rep}/follow-ups/new",
                               headers=EN).get_data(as_text=True)
    start = page.index("data-follow-up-form")
    form = page[start:page.index("</form>", start)]
    assert "autofocus" not in form
    assert 'data-geolocate-status role="status"' in form
    assert 'data-recorder-status role="status"' in form
