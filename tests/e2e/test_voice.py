"""The customer's voice in a real browser: the public survey at phone size in both languages
(axe-core and tap targets), answered by tapping; the share page's QR code, rendered to pixels
by the browser and decoded, gives the survey link."""

import struct
import zlib

import pytest
import zxingcpp
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.extensions import db
from crm.voice.models import Survey, SurveyReason
from crm.voice.surveys import create_survey, token_for
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import MIN_TARGET, SMALL_TARGETS

PHONE = {"width": 390, "height": 844}


def _survey(app, world, customer: str, rep: str) -> tuple[int, str]:
    with app.app_context():
        survey = create_survey(db.session.get(Customer, getattr(world.customers, customer)),
                               db.session.get(User, getattr(world, rep).id),
                               reason=SurveyReason.WON_DEAL)
        db.session.commit()
        return survey.id, token_for(survey)


def _check(page, name: str) -> list[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"survey-{name}.png"), full_page=True)
    findings = []
    results = Axe().run(page)
    if results.violations_count:
        findings.append(f"{name}: axe\n{results.generate_report()}")
    small = page.evaluate(SMALL_TARGETS, MIN_TARGET)
    if small:
        findings.append(f"{name}: targets under {MIN_TARGET} px: {small}")
    return findings


@pytest.mark.parametrize("language, customer, rep, question, thanks", [
    ("zh-CN", "rep", "rep", "您对我们的服务满意吗", "谢谢您"),
    ("en", "rep2", "rep2", "How satisfied are you", "Thank you"),
])
def test_the_public_survey_on_a_phone(app, world, browser, live_server, language, customer,
                                      rep, question, thanks):
    survey_id, token = _survey(app, world, customer, rep)
    context = browser.new_context(viewport=PHONE, locale=language, is_mobile=True,
                                  has_touch=True)
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        response = page.goto(f"{live_server}/s?t={token}")
        assert response.status == 200
        assert response.headers["x-robots-tag"] == "noindex, nofollow"
        assert page.evaluate("document.documentElement.lang") == language
        expect(page.locator("legend")).to_contain_text(question)
        findings = _check(page, f"{language}-question")
        page.get_by_text("4", exact=True).tap()
        page.fill("textarea", "安装很快" if language == "zh-CN" else "Quick install")
        page.locator("button[type=submit]").tap()
        expect(page.locator("h1")).to_have_text(thanks)
        findings += _check(page, f"{language}-thanks")
        assert context.cookies() == []  # no session, not even after answering
        used = page.goto(f"{live_server}/s?t={token}")
        assert used.status == 404
        findings += _check(page, f"{language}-used")
        assert context.cookies() == []
        assert not findings, "\n\n".join(findings)
        # The used link answers 404 on purpose; nothing else may be logged.
        assert [e for e in errors if "status of 404" not in e] == []
    finally:
        context.close()
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert survey.score == 4 and survey.comment


def _png_pixels(data: bytes) -> memoryview:
    """The grayscale pixels of an 8-bit RGB(A) PNG (as Chromium's screenshots are), shaped
    (height, width) as zxing-cpp reads a buffer. Plain Python: no imaging library needed."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour, _c, _f, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    gray = bytearray(width * height)
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        out = bytearray(stride)
        for x in range(stride):
            left = out[x - channels] if x >= channels else 0
            up = previous[x]
            if kind == 0:
                guess = 0
            elif kind == 1:
                guess = left
            elif kind == 2:
                guess = up
            elif kind == 3:
                guess = (left + up) // 2
            else:
                corner = previous[x - channels] if x >= channels else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            out[x] = (line[x] + guess) & 0xFF
        for x in range(width):
            pixel = out[x * channels:x * channels + 3]
            gray[y * width + x] = sum(pixel) // 3
        previous = out
    return memoryview(bytes(gray)).cast("B", (height, width))


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_the_qr_code_decodes_to_the_survey_link(app, world, page, live_server, sign_in):
    survey_id, token = _survey(app, world, "rep", "rep")
    sign_in(world.rep.email)
    page.goto(f"{live_server}/surveys/{survey_id}")
    qr = page.locator("#survey-qr svg")
    expect(qr).to_be_visible()
    pixels = _png_pixels(qr.screenshot())
    found = zxingcpp.read_barcodes(pixels)
    assert [code.text for code in found] == [f"{live_server}/s?t={token}"]
    # The same link is in the text to paste into WeChat or a message.
    assert f"{live_server}/s?t={token}" in page.locator("#share-text").input_value()
    # And it opens the survey for a visitor.
    assert page.context.browser.new_context().new_page().goto(found[0].text).status == 200
