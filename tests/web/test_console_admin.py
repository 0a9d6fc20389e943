"""The console's administration pages over real TLS: users (add, disable, lockout, reset),
API keys (the secret shown once, and working), the audit log (the login and the changes,
filtered and exported), the port catalog with what is listening, and an auditor who
sees everything and changes nothing. httpx stands in for the browser: it logs in, keeps
the cookie and sends the page's token and Origin on POSTs.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server

AUDITOR_PASSWORD = "an auditor's long passphrase"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("console-admin") / "data"
    yield from start_server(make_settings(data, poller={"enabled": False}))


class Browser:
    """A logged-in console session: GETs, and POSTs with the page's token and Origin."""

    def __init__(self, server: RunningServer, username: str, password: str) -> None:
        self.origin = server.url()
        self.http = httpx.Client(base_url=self.origin, verify=False, timeout=20)
        self.login = self.http.post(
            "/login",
            data={"username": username, "password": password},
            headers={"Origin": self.origin},
        )
        if self.login.status_code == 303:
            found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', self.http.get("/").text)
            assert found
            self.token = found[1]

    @property
    def logged_in(self) -> bool:
        return self.login.status_code == 303

    def get(self, url: str, **params: str) -> httpx.Response:
        return self.http.get(url, params=params) if params else self.http.get(url)

    def post(self, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(
            url,
            data={**(data or {}), "csrf_token": self.token},
            headers={"Origin": self.origin},
        )

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def admin(live: RunningServer) -> Iterator[Browser]:
    browser = Browser(live, "admin", ADMIN_PASSWORD)
    assert browser.logged_in
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def auditor(live: RunningServer) -> Iterator[Browser]:
    with live.admin() as api:
        body = {"username": "inspector", "password": AUDITOR_PASSWORD, "role": "auditor"}
        assert api.post("/api/v1/users", json=body).status_code == 201
    browser = Browser(live, "inspector", AUDITOR_PASSWORD)
    assert browser.logged_in
    yield browser
    browser.close()


def table_rows(page: str, table_id: str) -> list[str]:
    """The text of each body row of the table ``table_id``."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    body = table[1].split("<tbody>", 1)[-1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r))).strip() for r in rows]


def row_of(page: str, table_id: str, first_word: str) -> str:
    found = [r for r in table_rows(page, table_id) if r.split(" ")[0] == first_word]
    assert len(found) == 1, table_rows(page, table_id)
    return found[0]


def test_a_new_user_can_log_in_and_is_disabled_and_reset(
    live: RunningServer, admin: Browser
) -> None:
    page = admin.get("/admin/users")
    assert page.status_code == 200 and '<label for="f-username">User name' in page.text
    short = admin.post(
        "/admin/users",
        {"username": "dana", "role": "operator", "password": "short", "confirm": "short"},
    )
    assert short.status_code == 400
    assert re.search(r'id="e-password" class="error">Use at least \d+ characters', short.text)
    assert 'value="dana"' in short.text  # what was typed stays
    added = admin.post(
        "/admin/users",
        {
            "username": "dana",
            "display_name": "Dana Scully",
            "role": "operator",
            "password": "a long passphrase of hers",
            "confirm": "a long passphrase of hers",
        },
    )
    assert added.status_code == 303
    assert "User dana added." in admin.get(added.headers["location"]).text
    again = admin.post(
        "/admin/users",
        {"username": "dana", "role": "operator", "password": "x" * 20, "confirm": "x" * 20},
    )
    assert again.status_code == 400 and re.search(r'id="e-username" class="error">User', again.text)

    dana = Browser(live, "dana", "a long passphrase of hers")
    assert dana.logged_in
    dana.close()

    user_id = re.search(r'href="/admin/users/(\d+)">dana<', admin.get("/admin/users").text)
    assert user_id
    disabled = admin.post(f"/admin/users/{user_id[1]}/active", {"active": "no"})
    assert disabled.status_code == 303
    assert "disabled" in row_of(admin.get("/admin/users").text, "users", "dana")
    assert not Browser(live, "dana", "a long passphrase of hers").logged_in
    admin.post(f"/admin/users/{user_id[1]}/active", {"active": "yes"})

    # Five wrong passwords lock the account; the list says so, and unlock lifts it.
    for _ in range(live.services.settings.auth.max_failed_logins):
        assert not Browser(live, "dana", "not the password at all").logged_in
    assert "locked until" in row_of(admin.get("/admin/users").text, "users", "dana")
    admin.post(f"/admin/users/{user_id[1]}/unlock")
    assert "active" in row_of(admin.get("/admin/users").text, "users", "dana")

    differ = admin.post(
        f"/admin/users/{user_id[1]}/password", {"password": "a" * 16, "confirm": "b" * 16}
    )
    assert (
        differ.status_code == 400
        and 'id="e-confirm" class="error">The two passwords' in differ.text
    )
    reset = admin.post(
        f"/admin/users/{user_id[1]}/password",
        {"password": "a brand new passphrase", "confirm": "a brand new passphrase"},
    )
    assert reset.status_code == 303
    assert Browser(live, "dana", "a brand new passphrase").logged_in


def test_a_new_api_key_is_shown_once_and_works(live: RunningServer, admin: Browser) -> None:
    blank = admin.post("/admin/api-keys", {"name": ""})
    assert blank.status_code == 400 and 'id="e-name" class="error">' in blank.text
    made = admin.post("/admin/api-keys", {"name": "nightly export"})
    assert made.status_code == 200
    assert "Copy it now: it will not be shown again" in made.text
    secret = re.search(
        r'<output id="new-key" class="secret-box"[^>]*>(gar_[^<]+)</output>', made.text
    )
    assert secret
    key = secret[1]

    with live.client(key=key) as api:
        assert api.get("/api/v1/users/me").json()["username"] == "admin"
        answer = api.get("/repEntries/query", params={"ip": "1.2.3.4"})
        assert answer.status_code == 204  # authenticated, nothing stored

    listing = admin.get("/admin/api-keys").text
    assert key not in listing
    assert key[:12] in listing  # only its prefix
    assert "nightly export" in row_of(listing, "keys", "nightly")
    assert key not in admin.get("/admin/api-keys", all="1").text

    key_id = re.search(
        r'action="/admin/api-keys/(\d+)/revoke" data-confirm="Revoke the key nightly', listing
    )
    assert key_id
    assert admin.post(f"/admin/api-keys/{key_id[1]}/revoke").status_code == 303
    assert "revoked" in row_of(admin.get("/admin/api-keys").text, "keys", "nightly")
    with live.client(key=key) as api:
        assert api.get("/api/v1/users/me").status_code == 401


def test_the_audit_log_shows_the_login_and_the_changes(live: RunningServer, admin: Browser) -> None:
    admin.post(
        "/admin/users",
        {"username": "erin", "role": "auditor", "password": "x" * 20, "confirm": "x" * 20},
    )
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    rows = table_rows(page.text, "audit")
    assert any("admin login user:admin success" in r for r in rows)
    assert any("admin user.create user:erin success" in r for r in rows)
    # Newest first: the user was made after the login.
    created = next(i for i, r in enumerate(rows) if "user.create user:erin" in r)
    logged_in = next(i for i, r in enumerate(rows) if "admin login user:admin" in r)
    assert created < logged_in

    only = table_rows(admin.get("/admin/audit", action="user.", actor="admin").text, "audit")
    assert only and all(" user." in r for r in only)
    assert not Browser(live, "admin", "a wrong password").logged_in
    failed = table_rows(admin.get("/admin/audit", outcome="failure").text, "audit")
    assert failed and all(" failure " in f" {r} " for r in failed)
    assert any("admin login user:admin failure" in r for r in failed)
    bad = admin.get("/admin/audit", since="yesterday")
    assert bad.status_code == 400 and 'id="e-since" class="error">Give a date' in bad.text

    export = admin.get("/admin/audit.csv", action="user.create")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(export.text)))
    assert any(line["target"] == "user:erin" for line in lines)
    assert all(line["action"] == "user.create" for line in lines)


def test_the_ports_page_marks_the_https_port_listening(live: RunningServer, admin: Browser) -> None:
    page = admin.get("/admin/ports")
    assert page.status_code == 200
    https = re.search(r'<tr data-key="https">(.*?)</tr>', page.text, re.S)
    assert https
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", https[1]))
    assert str(live.ports["https"]) in text and "TCP" in text and "listening" in text
    assert "not listening" not in text
    assert "inbound" in text
    peer = re.search(r'<tr data-key="whois">(.*?)</tr>', page.text, re.S)
    assert peer and "outbound" in peer[1] and "connects out" in peer[1]
    own = admin.get("/admin/ports", only="garrison").text
    assert 'data-key="whois"' not in own and 'data-key="https"' in own


def test_an_auditor_sees_but_cannot_add_a_user(
    live: RunningServer, admin: Browser, auditor: Browser
) -> None:
    page = auditor.get("/admin/users")
    assert page.status_code == 200 and "inspector" in page.text
    assert 'action="/admin/users"' not in page.text and "Disable" not in page.text
    refused = auditor.post(
        "/admin/users",
        {"username": "mallory", "role": "admin", "password": "y" * 20, "confirm": "y" * 20},
    )
    assert refused.status_code == 403
    assert "mallory" not in admin.get("/admin/users").text
    admin_id = re.search(r'href="/admin/users/(\d+)">admin<', page.text)
    assert admin_id
    assert auditor.post(f"/admin/users/{admin_id[1]}/active", {"active": "no"}).status_code == 403
    assert auditor.get("/admin/audit").status_code == 200
    assert auditor.get("/admin/audit.csv").status_code == 200
    assert auditor.get("/admin/ports").status_code == 200


def test_an_operator_manages_only_their_own_keys(live: RunningServer) -> None:
    with live.admin() as api:
        body = {"username": "olga", "password": "a passphrase for operators", "role": "operator"}
        assert api.post("/api/v1/users", json=body).status_code == 201
    operator = Browser(live, "olga", "a passphrase for operators")
    try:
        assert operator.get("/admin/users").status_code == 403
        assert operator.get("/admin/audit").status_code == 403
        overview = operator.get("/admin").text
        assert "/admin/api-keys" in overview and "/admin/users" not in overview
        listing = operator.get("/admin/api-keys", all="1").text
        assert "Show every user's keys" not in listing and "tests" not in listing
        made = operator.post("/admin/api-keys", {"name": "olga's script"})
        assert made.status_code == 200 and "Copy it now" in made.text
        others = operator.post("/admin/api-keys", {"name": "sneaky", "owner": "1"})
        assert others.status_code == 400 and "only make keys for yourself" in others.text
    finally:
        operator.close()


def test_html_typed_into_a_field_is_escaped(admin: Browser) -> None:
    attack = "<script>alert(1)</script>"
    answer = admin.post(
        "/admin/users",
        {
            "username": attack,
            "display_name": attack,
            "role": "operator",
            "password": "p" * 20,
            "confirm": "p" * 20,
        },
    )
    assert answer.status_code == 400
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    made = admin.post("/admin/api-keys", {"name": attack})
    assert made.status_code == 200 and "<script>alert" not in made.text
    assert "<script>alert" not in admin.get("/admin/api-keys").text
    assert "<script>alert" not in admin.get("/admin/audit").text
