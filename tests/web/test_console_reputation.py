"""The console's reputation pages over real TLS, as an operator uses them: add an entry
with tags, find it by an address it contains, edit, expire and delete it, import a file
(a bad line names itself and imports nothing), manage tag categories. httpx stands in for
the browser: it logs in, keeps the cookie and sends the page's token and Origin on POSTs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("console-reputation") / "data"
    yield from start_server(make_settings(data, poller={"enabled": False}))


@pytest.fixture(scope="module")
def categories(live: RunningServer) -> None:
    with live.admin() as api:
        for body in (
            {"name": "Score", "kind": "range", "minimum": 0, "maximum": 100},
            {"name": "Type", "kind": "list", "values": ["cnc", "spam", "scan"], "multiple": True},
            {"name": "Note", "kind": "text"},
            {"name": "Blocked", "kind": "yesno"},
        ):
            assert api.post("/api/v1/reputation/tag-categories", json=body).status_code == 201


class Browser:
    """A logged-in console session: GETs, and POSTs with the page's token and Origin."""

    def __init__(self, server: RunningServer, username: str = "admin", password: str = "") -> None:
        self.origin = server.url()
        self.http = httpx.Client(base_url=self.origin, verify=False, timeout=20)
        answer = self.http.post(
            "/login",
            data={"username": username, "password": password or ADMIN_PASSWORD},
            headers={"Origin": self.origin},
        )
        assert answer.status_code == 303, answer.text
        self.token = self.token_of(self.http.get("/").text)

    @staticmethod
    def token_of(page: str) -> str:
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page)
        assert found
        return found[1]

    def get(self, url: str, **params: str) -> httpx.Response:
        return self.http.get(url, params=params) if params else self.http.get(url)

    def post(self, url: str, data: dict | list | None = None, **options: object) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
        fields: dict[str, list[str]] = {"csrf_token": [self.token]}
        for name, value in pairs:  # a name given several times: a multiple select
            fields.setdefault(name, []).append(value)
        return self.http.post(
            url,
            data=fields,
            headers={"Origin": self.origin},
            **options,
        )

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def admin(live: RunningServer, categories: None) -> Iterator[Browser]:
    browser = Browser(live)
    yield browser
    browser.close()


def rows(page: str) -> list[str]:
    """The text of each entry row of the search results."""
    table = re.search(r'<table id="entries">(.*?)</table>', page, re.S)
    if table is None:
        return []
    body = table[1].split("<tbody>", 1)[-1]
    cells = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c))).strip() for c in cells]


def test_add_find_by_a_contained_address_and_delete(admin: Browser) -> None:
    form = admin.get("/reputation/new")
    assert form.status_code == 200
    assert '<label for="f-value">Entry' in form.text
    # Each category gets the input its kind needs.
    assert re.search(r'name="tag:Score" type="number" step="1" min="0" max="100"', form.text)
    assert re.search(r'<select id="f-tag-\d+" name="tag:Type" multiple', form.text)
    added = admin.post(
        "/reputation/new",
        [
            ("value", "10.9.0.0/16"),
            ("kind", ""),
            ("tag:Score", "80"),
            ("tag:Type", "cnc"),
            ("tag:Type", "scan"),
            ("tag:Note", "seen in a campaign"),
            ("tag:Blocked", "yes"),
            ("expires", "2099-01-01T12:00"),
        ],
    )
    assert added.status_code == 303, added.text
    landed = admin.get(added.headers["location"])
    assert "Added 10.9.0.0/16." in landed.text
    found = rows(admin.get("/reputation", q="10.9.8.7").text)
    assert len(found) == 1
    assert "10.9.0.0/16" in found[0] and "Score: 80" in found[0] and "Type: cnc, scan" in found[0]
    assert "2099-01-01 12:00" in found[0] and "Blocked: yes" in found[0]
    assert rows(admin.get("/reputation", q="10.10.0.1").text) == []

    gone = admin.post("/reputation/delete", {"value": "10.9.0.0/16", "kind": "ipv4"})
    assert gone.status_code == 303
    assert "Deleted 10.9.0.0/16." in admin.get(gone.headers["location"]).text
    assert rows(admin.get("/reputation", q="10.9.8.7").text) == []


def test_bad_values_are_named_next_to_their_fields(admin: Browser) -> None:
    answer = admin.post(
        "/reputation/new",
        [("value", "10.0.0.x"), ("kind", "ipv4"), ("tag:Score", "500"), ("expires", "2001-01-01")],
    )
    assert answer.status_code == 400
    page = answer.text
    assert re.search(r'id="e-value" class="error">[^<]*is not an IPv4 or IPv6 address', page)
    assert re.search(r'class="error">500 is outside 0\.\.100', page)
    assert re.search(r'id="e-expires" class="error">That time has already passed', page)
    assert 'value="10.0.0.x"' in page  # what was typed stays


def test_edit_replaces_the_tags_and_expire_now_hides_the_entry(admin: Browser) -> None:
    admin.post("/reputation/new", {"value": "Evil.Example", "tag:Note": "first", "tag:Score": "5"})
    edit = admin.get("/reputation/edit", value="evil.example", kind="dns")
    assert edit.status_code == 200 and 'value="first"' in edit.text
    saved = admin.post(
        "/reputation/edit", {"value": "evil.example", "kind": "dns", "tag:Note": "second"}
    )
    assert saved.status_code == 303
    found = rows(admin.get("/reputation", q="www.evil.example").text)
    assert len(found) == 1 and "Note: second" in found[0] and "Score" not in found[0]

    expired = admin.post("/reputation/expire", {"value": "evil.example", "kind": "dns"})
    assert expired.status_code == 303
    assert rows(admin.get("/reputation", q="www.evil.example").text) == []


def test_an_import_with_a_bad_line_3_imports_nothing(admin: Browser) -> None:
    bad = b"1.1.1.1,Score,10\n1.1.1.2,Note,fine\n1.1.1.x,Score,3\n1.1.1.4\n"
    answer = admin.post(
        "/reputation/import", {"type": "ipv4"}, files={"file": ("feed.csv", bad, "text/csv")}
    )
    assert answer.status_code == 400
    assert re.search(r'id="e-file" class="error"[^>]*>Line 3: ', answer.text)
    assert "Nothing was imported." in answer.text
    assert rows(admin.get("/reputation", q="1.1.1.1").text) == []

    good = b"# a feed\n1.1.1.1,Score,10\n1.1.1.2,Type,spam~~~cnc\n"
    answer = admin.post(
        "/reputation/import", {"type": "ipv4"}, files={"file": ("feed.csv", good, "text/csv")}
    )
    assert answer.status_code == 303
    assert "Imported 2 entries (2 added, 0 updated)." in admin.get(answer.headers["location"]).text
    assert "Type: spam, cnc" in rows(admin.get("/reputation", q="1.1.1.2").text)[0]


def test_tag_categories_are_created_and_deleted(admin: Browser) -> None:
    made = admin.post(
        "/reputation/categories", {"name": "Colour", "kind": "list", "values": "red\ngreen\n"}
    )
    assert made.status_code == 303
    listing = admin.get("/reputation/categories").text
    assert "Colour" in listing and "red, green" in listing
    wrong = admin.post("/reputation/categories", {"name": "Level", "kind": "range", "minimum": "9"})
    assert wrong.status_code == 400
    assert 'id="e-minimum" class="error">A number range needs a lowest and a highest' in wrong.text
    twice = admin.post("/reputation/categories", {"name": "Colour", "kind": "text"})
    assert twice.status_code == 400 and "already exists" in twice.text

    admin.post("/reputation/new", {"value": "2.2.2.2", "tag:Colour": "red"})
    refused = admin.post("/reputation/categories/delete", {"name": "Colour"})
    assert refused.status_code == 409 and "also remove its tags" in refused.text
    gone = admin.post("/reputation/categories/delete", {"name": "Colour", "force": "on"})
    assert gone.status_code == 303
    listing = admin.get(gone.headers["location"]).text
    assert "Tag category Colour deleted." in listing
    assert 'name="name" value="Colour"' not in listing


def test_html_typed_into_a_value_is_shown_as_text(admin: Browser) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    admin.post("/reputation/new", {"value": "3.3.3.3", "tag:Note": attack})
    page = admin.get("/reputation", q="3.3.3.3").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    searched = admin.get("/reputation", q=attack).text
    assert "<script>alert" not in searched


def test_an_auditor_reads_but_cannot_change(live: RunningServer, admin: Browser) -> None:
    with live.admin() as api:
        made = api.post(
            "/api/v1/users",
            json={"username": "reader", "password": "a long auditor passphrase", "role": "auditor"},
        )
        assert made.status_code == 201
    auditor = Browser(live, "reader", "a long auditor passphrase")
    try:
        admin.post("/reputation/new", {"value": "4.4.4.4", "tag:Note": "kept"})
        page = auditor.get("/reputation", q="4.4.4.4")
        assert page.status_code == 200 and "4.4.4.4" in page.text
        assert "/reputation/delete" not in page.text and "Add an entry" not in page.text
        assert auditor.post("/reputation/delete", {"value": "4.4.4.4"}).status_code == 403
        assert auditor.post("/reputation/new", {"value": "5.5.5.5"}).status_code == 403
        assert auditor.get("/reputation/new").status_code == 403
        view = auditor.get("/reputation/edit", value="4.4.4.4")
        assert view.status_code == 200 and "kept" in view.text
        assert 'method="post"' not in view.text.split('<main id="main">', 1)[1]
        assert len(rows(admin.get("/reputation", q="4.4.4.4").text)) == 1
        assert rows(admin.get("/reputation", q="5.5.5.5").text) == []
    finally:
        auditor.close()
