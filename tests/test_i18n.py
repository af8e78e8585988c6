"""Both languages: chosen from the browser or the user's setting; complete catalogs."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from crm.accounts.models import User
from crm.extensions import db

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = {"zh_CN": ROOT / "translations/zh_Hans_CN/LC_MESSAGES/messages.po",
            "en": ROOT / "translations/en/LC_MESSAGES/messages.po"}


def test_browser_language_decides_for_visitors(client):
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="zh-CN">' in chinese.get_data(as_text=True)
    assert "登录" in chinese.get_data(as_text=True)
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Sign in" in english.get_data(as_text=True)


def test_switch_sets_a_cookie_and_the_users_setting(app, world, login_as):
    rep = login_as("rep")
    response = rep.post_form("/locale", {"locale": "en", "next": "/more"},
                             headers={"Accept-Language": "zh-CN"})
    assert response.headers["Location"] == "/more"
    assert rep.get_cookie("crm_lang").value == "en"
    with app.app_context():
        assert db.session.get(User, world.rep.id).locale == "en"
    other_device = app.test_client()
    other_device.login(world.rep.email)
    page = other_device.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_switch_on_the_login_page(client):
    response = client.post_form("/locale", {"locale": "zh_CN", "next": "/login"},
                                headers={"Accept-Language": "en"})
    assert response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in page.get_data(as_text=True)


def test_switch_ignores_unknown_languages_and_foreign_next(client):
    response = client.post_form("/locale", {"locale": "xx", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"
    assert client.get_cookie("crm_lang") is None


def test_times_show_in_the_users_zone(app, world, login_as):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.id == world.rep.id)).one()
        user.timezone = "America/Los_Angeles"
        db.session.commit()
    from crm.clock import utcnow

    page = login_as("rep").get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    from zoneinfo import ZoneInfo

    local_day = utcnow().astimezone(ZoneInfo("America/Los_Angeles")).day
    assert f" {local_day}, " in page


def _source_messages():
    method_map = [("crm/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                "lazy_gettext": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_catalog_is_complete(language):
    with CATALOGS[language].open("rb") as fh:
        catalog = read_po(fh)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings) and not message.fuzzy
    missing = [m for m in _source_messages() if not translated.get(m)]
    assert missing == [], f"{language}: untranslated or missing: {missing[:10]}"


def test_switch_after_a_failed_post_returns_to_a_page_that_exists(world, login_as):
    admin = login_as("admin")
    failed = admin.post_form("/admin/teams", {"name": "", "parent_id": ""},
                             headers={"Referer": "https://localhost/admin/teams"})
    assert failed.status_code == 422
    html = failed.get_data(as_text=True)
    back = html.split('name="next" value="')[1].split('"')[0]
    assert back == "/admin/teams"
    response = admin.post_form("/locale", {"locale": "en", "next": back})
    assert admin.get(response.headers["Location"]).status_code == 200


def test_as_my_browser_says_forgets_the_switch(app, world, login_as):
    rep = login_as("rep")
    rep.post_form("/locale", {"locale": "en", "next": "/"})
    rep.post_form("/account/preferences", {"locale": "", "timezone": "Asia/Shanghai"})
    page = rep.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN">' in page.get_data(as_text=True)
