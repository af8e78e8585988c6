"""No query parameter on any GET route makes a 500: odd digits, huge numbers, empty values,
unicode and broken encodings give 400 or are ignored.

Every GET route of the access matrix is asked, as an admin and as a rep, with every query
parameter the app reads (found in the source, so a new filter is fuzzed the day it lands),
each given a table of odd values.
"""

import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from tests.access_matrix import ROUTES

SOURCE = Path(__file__).resolve().parent.parent / "crm"

# Parameters read through helpers the scan below cannot see by their call.
KNOWN = {"after", "kind", "tab", "q", "tier", "industry", "region", "size_band", "tag",
         "owner", "owner_id", "team", "rep", "grade", "stage", "silent_days", "expiring",
         "view", "next", "role", "active", "team_id", "actor", "customer", "action", "since",
         "until", "format", "page", "status"}

ODD_VALUES = [
    "²", "٣", "２", "99999999999", "9" * 40, "-1", "0", "", " ", "1e5", "0x10", "NaN",
    "abc", "'\"<>", "%", "\x00", "\u202e", "2026-13-45", "-0", "1.5", "😀", "[]",
]
# Bytes that are not UTF-8 at all, sent raw.
# One parameter at a time, the values most likely to break a number or a lookup.
ALONE_VALUES = ["²", "٣", "99999999999", "9" * 40, "", "-1", "\x00", "😀"]
RAW_QUERIES = [b"owner=%ff", b"after=%c3%28", b"q=%ed%a0%80", b"rep=%00", b"team[]=1"]


def parameter_names() -> list[str]:
    names = set(KNOWN)
    pattern = re.compile(
        r"""(?:args|filters|number|_number|int_arg)\.?(?:get|getlist)?\((?:\s*args,)?\s*["'](\w+)["']""")
    for path in SOURCE.rglob("*.py"):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


def status_of(client, url, **kwargs):
    """The status, or the exception a 500 would have been (tests propagate them)."""
    if "?" in url and "query_string" in kwargs:  # the route's own parameters, then the odd ones
        path, _, own = url.partition("?")
        url, kwargs["query_string"] = path, {**dict(parse_qsl(own)), **kwargs["query_string"]}
    try:
        return client.get(url, **kwargs).status_code
    except Exception as error:  # noqa: BLE001 - any exception is the 500 being looked for
        return f"{type(error).__name__}: {error}"[:200]


def bad(status) -> bool:
    return not isinstance(status, int) or status >= 500


def get_routes():
    return [route for route in ROUTES if route.method == "GET"
            and not route.rule.startswith(("/recordings/", "/reviews/"))]


@pytest.mark.parametrize("role", ["admin", "rep", "manager"])
def test_no_query_parameter_makes_a_500(app, world, login_as, role):
    client = login_as(role)
    names = parameter_names()
    failures = []
    for route in get_routes():
        url = route.build_url(world)
        base = url + ("&" if "?" in url else "?")
        for value in ODD_VALUES:
            status = status_of(client, url, query_string={name: value for name in names})
            if bad(status):
                failures.append((url, value, status))
        for raw in RAW_QUERIES:
            status = status_of(client, base + raw.decode("latin-1"))
            if bad(status):
                failures.append((url, raw, status))
    assert failures == []


LIST_PAGES = ["/customers", "/pipeline", "/pipeline/sheet", "/pipeline/a-deals",
              "/admin/users", "/admin/audit", "/admin/data-requests", "/feedback", "/care",
              "/satisfaction", "/notifications", "/tasks", "/dashboard", "/goals", "/reports",
              "/check-ins", "/offline"]


@pytest.mark.parametrize("page", LIST_PAGES)
def test_each_list_parameter_alone(app, world, login_as, page):
    """One parameter at a time, so an early refusal of one cannot hide another's 500."""
    client = login_as("admin")
    failures = []
    for name in parameter_names():
        for value in ALONE_VALUES:
            status = status_of(client, page, query_string={name: value})
            if bad(status):
                failures.append((name, value, status))
    assert failures == []


def test_the_reported_ones(app, world, login_as):
    client = login_as("admin")
    for url in ["/pipeline?owner=²", "/pipeline?team=²", "/pipeline/sheet?rep=²",
                "/pipeline/sheet?team=99999999999", "/pipeline/a-deals?team=٣",
                "/customers?silent_days=99999999999", "/customers?owner_id=99999999999999999999"]:
        assert client.get(url).status_code in (200, 400, 404), url


def test_nul_characters_are_dropped_from_queries(app, world, login_as):
    client = login_as("rep")
    page = client.get("/customers?q=%E5%BC%A0%00%E4%B8%89")
    assert page.status_code == 200
    assert "张三" in page.get_data(as_text=True)  # searched as 张三


def test_nul_characters_are_dropped_from_forms(app, world, login_as):
    client = login_as("rep")
    response = client.post_form("/account/preferences", {"locale": "en\x00",
                                                         "timezone": "Asia/Shanghai\x00"})
    assert response.status_code == 303
