"""The console's Responder pages over real TLS, against a server running the Responder
engine: a policy written through the form and read back over the API, errors shown next
to the action they are about, Close and Extend going through the engine, an auditor who
sees but cannot change, and names with HTML shown as text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from garrison.auth import Principal
from tests.responder.probe_action import probe
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server, wait_for

AUDITOR_PASSWORD = "a long passphrase for reading"
OPERATOR_PASSWORD = "a long passphrase for the shift"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("responder") / "data", poller={"enabled": False}
    )
    for server in start_server(settings):
        auth = server.services.auth
        for name, password, role in (
            ("auditor1", AUDITOR_PASSWORD, "auditor"),
            ("shift1", OPERATOR_PASSWORD, "operator"),
        ):
            auth.create_user(Principal.local_cli(), username=name, password=password, role=role)
        yield server


class Browser:
    """A logged-in console user, as a browser would send forms (same origin, token)."""

    def __init__(self, server: RunningServer, username: str, password: str) -> None:
        self.origin = server.url()
        self.http = httpx.Client(base_url=self.origin, verify=False, timeout=20)
        answer = self.http.post(
            "/login",
            data={"username": username, "password": password, "next": "/responder"},
            headers={"Origin": self.origin},
        )
        assert answer.status_code == 303, answer.text
        page = self.get("/responder")
        assert page.status_code == 200
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert found
        self.token = found[1]

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]]) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        fields: dict[str, list[str]] = {"csrf_token": [self.token]}
        for key, value in pairs:
            fields.setdefault(key, []).append(value)
        return self.http.post(path, data=fields, headers={"Origin": self.origin})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def admin(live: RunningServer) -> Iterator[Browser]:
    browser = Browser(live, "admin", ADMIN_PASSWORD)
    yield browser
    browser.close()


def error_beside(page: str, field: str) -> str:
    """The error text shown next to a form field (its ``e-<field>`` element)."""
    found = re.search(rf'id="e-{re.escape(field)}"[^>]*>(.*?)</', page, re.S)
    assert found, f"no error shown next to {field}"
    return html.unescape(found[1]).strip()


def policy_form(name: str, **extra: str) -> list[tuple[str, str]]:
    """A threshold policy's form with two dependent actions and a timeout action, as a
    person fills it in."""
    fields = {
        "name": name,
        "description": "Quarantine sources that trip major filters",
        "enabled": "on",
        "timeout_value": "30",
        "timeout_unit": "minutes",
        "allow": "10.0.0.0/8\n192.0.2.0-192.0.2.99",
        "never": "10.0.0.1",
        "hits": "5",
        "period": "60",
        "quiet": "600",
        "min_severity": "major",
        "categories": "Exploits, Reputation",
        "retrigger": "extend",
        "max_open": "100",
        "initial_rows": "3",
        "initial-0-name": "lookup",
        "initial-0-type": "probe",
        "initial-0-priority": "10",
        "initial-0-condition": "always",
        "initial-0-time_limit": "5",
        "initial-0-retries": "0",
        "initial-0-backoff": "1",
        "initial-0-settings": '{"label": "lookup"}',
        "initial-1-name": "notify",
        "initial-1-type": "probe",
        "initial-1-priority": "100",
        "initial-1-depends_on": "lookup",
        "initial-1-condition": "succeeded",
        "initial-1-time_limit": "30",
        "initial-1-retries": "2",
        "initial-1-backoff": "1",
        "initial-1-settings": '{"label": "notify", "message": "{address} by {policy}"}',
        "timeout_rows": "2",
        "timeout-0-name": "release",
        "timeout-0-type": "probe",
        "timeout-0-settings": '{"label": "release"}',
    }
    fields.update(extra)
    return [("initiation", "threshold"), ("initiation", "manual"), *fields.items()]


def test_a_threshold_policy_with_two_dependent_actions_is_made_with_the_form(
    live: RunningServer, admin: Browser
) -> None:
    blank = admin.get("/responder/policies/new")
    assert blank.status_code == 200
    for label in (
        "Name",
        "Allow Active Response",
        "Never Respond",
        "Qualified hits",
        "Settings (JSON)",
        "Depends on",
    ):
        assert f">{label}</label>" in blank.text
    assert "an SNMP trap or Web service call may invoke this policy" in blank.text
    assert ">Save policy</button>" in blank.text
    # Every input, select and textarea of the form has a label.
    form = blank.text.split('class="policy-form"', 1)[1].split("</form>", 1)[0]
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", form)
    assert len(controls) > 40
    for control in controls:
        if 'type="hidden"' in control:
            continue
        ident = re.search(r' id="([^"]+)"', control)
        assert ident and f'for="{ident[1]}"' in form, control

    saved = admin.post("/responder/policies/new", policy_form("Scanner watch"))
    assert saved.status_code == 303, error_summary(saved.text)
    location = saved.headers["location"]
    assert re.fullmatch(r"/responder/policies/\d+\?saved=1", location)
    page = admin.get(location)
    assert "Policy saved." in page.text
    # The graph: both actions, the dependency labelled with its condition.
    graph = page.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'data-name="lookup"' in graph and 'data-name="notify"' in graph
    assert 'data-from="lookup" data-to="notify"' in graph and "if it succeeded" in graph
    assert 'data-name="release"' in graph
    assert " style=" not in graph

    policy_id = int(location.split("/")[-1].split("?")[0])
    with live.admin() as api:
        stored = api.get(f"/api/v1/responder/policies/{policy_id}").json()["policy"]
    assert stored["initiation"] == ["threshold", "manual"]
    assert stored["timeout_seconds"] == 1800
    assert stored["allow"] == ["10.0.0.0/8", "192.0.2.0-192.0.2.99"]
    assert stored["never"] == ["10.0.0.1"]
    assert stored["threshold"]["hits"] == 5 and stored["threshold"]["quiet_seconds"] == 600
    assert stored["threshold"]["filter"]["min_severity"] == "major"
    assert stored["threshold"]["filter"]["category"] == ["Exploits", "Reputation"]
    assert stored["max_open"] == 100
    lookup, notify = stored["initial_actions"]
    assert (lookup["name"], lookup["priority"], lookup["retries"]) == ("lookup", 10, 0)
    assert (notify["depends_on"], notify["condition"]) == ("lookup", "succeeded")
    assert notify["settings"] == {"label": "notify", "message": "{address} by {policy}"}
    assert [a["name"] for a in stored["timeout_actions"]] == ["release"]

    # The list shows it; the form shows it back as saved.
    listed = admin.get("/responder")
    row = listed.text.split(f'data-policy-id="{policy_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Scanner watch" in row and "30 minutes" in row and "2 initial, 1 timeout" in row
    assert 'value="lookup" selected' in page.text  # notify's "Depends on"
    assert 'value="30"' in page.text and 'value="minutes" selected' in page.text

    # The running engine has it: an attack from an allowed address opens a response,
    # which the open responses (and their live fragment) show with its evidence.
    attack = [
        {
            "severity": "major",
            "category": "Exploits",
            "signature_number": 7001,
            "name": "7001: HTTP: SQL injection",
            "device_name": "edge-1",
            "src_ip": "10.0.0.9",
            "dst_ip": "10.1.1.1",
            "dst_port": 80,
            "action": "block",
        }
    ] * 5
    with live.admin() as api:
        assert api.post("/api/v1/events/ingest", json=attack).status_code == 202
    row = wait_for(
        "the attack's response in the open responses",
        lambda: re.search(
            r'<tr data-response-id="(\d+)">(?:(?!</tr>).)*10\.0\.0\.9',
            admin.get("/responder/responses/_open").text,
            re.S,
        ),
    )
    detail = admin.get(f"/responder/responses/{row[1]}")
    assert "Scanner watch" in detail.text and "threshold" in detail.text
    assert detail.text.count("7001 7001: HTTP: SQL injection") == 5
    assert "10.0.0.9 → 10.1.1.1:80" in detail.text

    # Saving it again unchanged keeps it as it was.
    again = admin.post(location.split("?")[0], policy_form("Scanner watch"))
    assert again.status_code == 303
    with live.admin() as api:
        assert api.get(f"/api/v1/responder/policies/{policy_id}").json()["policy"] == stored


def error_summary(page: str) -> str:
    return "; ".join(html.unescape(m) for m in re.findall(r'class="error">(.*?)<', page))


def test_a_broken_dependency_is_shown_next_to_the_action_and_nothing_is_saved(
    live: RunningServer, admin: Browser
) -> None:
    broken = policy_form(
        "Broken graph",
        **{"initial-0-name": "", "initial-0-type": "", "initial-0-settings": ""},
    )
    answer = admin.post("/responder/policies/new", broken)
    assert answer.status_code == 400
    assert error_beside(answer.text, "initial-1-depends_on") == (
        "Action 'notify' depends on 'lookup', which is not in this policy."
    )
    assert "The policy was not saved" in answer.text
    # The form comes back as it was sent.
    assert 'value="notify"' in answer.text and "lookup (not in this list)" in answer.text

    cycle = policy_form("Cycle", **{"initial-0-depends_on": "notify"})
    answer = admin.post("/responder/policies/new", cycle)
    assert answer.status_code == 400
    assert error_beside(answer.text, "initial-0-depends_on") == (
        "The dependencies form a cycle: lookup -> notify -> lookup."
    )

    wrong = policy_form(
        "Wrong values",
        hits="0",
        allow="10.0.0.0/8\nnot an address",
        **{"initial-1-settings": '{"label": "notify", "colour": "red"}', "timeout-0-type": ""},
    )
    answer = admin.post("/responder/policies/new", wrong)
    assert answer.status_code == 400
    assert error_beside(answer.text, "hits") == "Qualified hits: at least 1."
    assert error_beside(answer.text, "allow").startswith("Line 2: 'not an address' is not an")
    assert error_beside(answer.text, "initial-1-settings") == (
        "Setting 'colour': not a setting of this action type."
    )
    assert error_beside(answer.text, "timeout-0-type") == "Choose the action's type."

    taken = admin.post("/responder/policies/new", policy_form("Default Response"))
    assert taken.status_code == 400
    assert "exists already" in error_beside(taken.text, "name")

    with live.admin() as api:
        names = {p["name"] for p in api.get("/api/v1/responder/policies").json()}
    assert not names & {"Broken graph", "Cycle", "Wrong values"}


def test_add_another_action_offers_one_more_row(admin: Browser) -> None:
    shown = admin.post(
        "/responder/policies/new",
        policy_form("More rows", do="add-initial", **{"initial-0-remove": "on"}),
    )
    assert shown.status_code == 200
    # lookup removed; notify, the empty row, and one more.
    assert 'name="initial_rows" value="3"' in shown.text
    assert 'id="f-initial-0-name" name="initial-0-name" type="text" value="notify"' in shown.text
    assert 'name="initial-2-name"' in shown.text and 'name="initial-3-name"' not in shown.text
    assert "The policy was not saved" not in shown.text


def open_response(api: httpx.Client, policy: str, address: str) -> dict[str, Any]:
    answer = api.post("/api/v1/responses", json={"policy": policy, "address": address})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_open_response_is_extended_then_closed(live: RunningServer, admin: Browser) -> None:
    with live.admin() as api:
        created = api.post(
            "/api/v1/responder/policies",
            json={
                "name": "Manual block",
                "initiation": ["manual"],
                "timeout_seconds": 3600,
                "initial_actions": [probe("block"), probe("tell", depends_on="block")],
                "timeout_actions": [probe("unblock")],
            },
        )
        assert created.status_code == 201, created.text
        response = open_response(api, "Manual block", "198.51.100.7")
        other = open_response(api, "Manual block", "198.51.100.8")

        page = admin.get("/responder/responses")
        assert page.status_code == 200
        table = page.text.split('id="open-responses"', 1)[1].split("</table>", 1)[0]
        row = table.split(f'data-response-id="{response["id"]}"', 1)[1].split("</tr>", 1)[0]
        assert "198.51.100.7" in row and ">Close</button>" in row and ">Extend</button>" in row
        assert 'data-confirm="Close the response for 198.51.100.7?' in row
        assert 'data-refresh="/responder/responses/_open"' in page.text
        fragment = admin.get("/responder/responses/_open")
        assert 'id="open-responses"' in fragment.text and "<html" not in fragment.text

        # Extend by 90 minutes: the expiry moves out by that much.
        before = datetime.fromisoformat(response["expires_at"])
        extended = admin.post(
            f"/responder/responses/{response['id']}/extend", {"minutes": "90", "back": "list"}
        )
        assert (extended.status_code, extended.headers["location"]) == (
            303,
            f"/responder/responses?extended={response['id']}",
        )
        after = api.get(f"/api/v1/responses/{response['id']}").json()
        moved = datetime.fromisoformat(after["expires_at"]) - before
        assert 89 * 60 <= moved.total_seconds() <= 91 * 60
        refused = admin.post(f"/responder/responses/{response['id']}/extend", {"minutes": "x"})
        assert refused.status_code == 400 and "Minutes to add" in refused.text

        # Close from the response's own page: its timeout action runs.
        detail = admin.get(f"/responder/responses/{response['id']}")
        assert ">Close</button>" in detail.text and 'name="back" value="detail"' in detail.text
        closed = admin.post(f"/responder/responses/{response['id']}/close", {"back": "detail"})
        assert closed.status_code == 303
        assert closed.headers["location"] == f"/responder/responses/{response['id']}?closed=1"

        def finished() -> bool:
            record = api.get(f"/api/v1/responses/{response['id']}").json()
            return record["state"] == "closed" and all(
                a["state"] == "succeeded" for a in record["actions"]
            )

        wait_for("the response closed with its actions done", finished)

    shown = admin.get(f"/responder/responses/{response['id']}")
    assert "The response is closing" not in shown.text  # no flag in this URL
    for name in ("block", "tell", "unblock"):
        row = shown.text.split(f'<tr data-action="{name}">', 1)[1].split("</tr>", 1)[0]
        assert "state-succeeded" in row and f"{name} ran" in row
    assert 'data-name="unblock"' in shown.text and ">Close</button>" not in shown.text

    listing = admin.get("/responder/responses")
    table = listing.text.split('id="open-responses"', 1)[1].split("</table>", 1)[0]
    assert f'data-response-id="{response["id"]}"' not in table
    assert f'data-response-id="{other["id"]}"' in table
    history = listing.text.split('id="response-history"', 1)[1].split("</table>", 1)[0]
    row = history.split(f'data-response-id="{response["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "unblock: succeeded" in row and "closed by admin" in row

    # Filtered by policy and address.
    only = admin.get("/responder/responses", policy="Manual block", address="198.51.100.8")
    table = only.text.split('id="open-responses"', 1)[1].split("</table>", 1)[0]
    assert table.count("data-response-id=") == 1
    assert 'data-refresh="/responder/responses/_open?policy=Manual+block&amp;address=' in only.text


def test_an_auditor_sees_but_cannot_change(live: RunningServer) -> None:
    with live.admin() as api:
        policy = api.post(
            "/api/v1/responder/policies",
            json={"name": "Audited", "initiation": ["manual"], "initial_actions": [probe("a")]},
        ).json()
        response = open_response(api, "Audited", "203.0.113.50")
    reader = Browser(live, "auditor1", AUDITOR_PASSWORD)
    try:
        listing = reader.get("/responder")
        assert listing.status_code == 200 and "Audited" in listing.text
        assert "New policy" not in listing.text
        page = reader.get(f"/responder/policies/{policy['id']}")
        assert page.status_code == 200
        assert "Save policy" not in page.text and "Delete policy" not in page.text
        assert '<fieldset class="plain" disabled>' in page.text
        assert reader.get("/responder/policies/new").status_code == 403
        refused = reader.post(f"/responder/policies/{policy['id']}", policy_form("Changed"))
        assert refused.status_code == 403 and "Not allowed" in refused.text
        assert reader.post(f"/responder/policies/{policy['id']}/delete", {}).status_code == 403

        responses = reader.get("/responder/responses")
        assert f'data-response-id="{response["id"]}"' in responses.text
        assert ">Close</button>" not in responses.text and ">Extend</button>" not in responses.text
        assert ">Close</button>" not in reader.get(f"/responder/responses/{response['id']}").text
        assert reader.post(f"/responder/responses/{response['id']}/close", {}).status_code == 403
        extend = reader.post(f"/responder/responses/{response['id']}/extend", {"minutes": "5"})
        assert extend.status_code == 403
    finally:
        reader.close()
    with live.admin() as api:
        assert api.get(f"/api/v1/responses/{response['id']}").json()["state"] == "open"
        assert api.get(f"/api/v1/responder/policies/{policy['id']}").json()["name"] == "Audited"

    # An operator may close and extend, not edit policies.
    operator = Browser(live, "shift1", OPERATOR_PASSWORD)
    try:
        assert ">Close</button>" in operator.get("/responder/responses").text
        assert "Save policy" not in operator.get(f"/responder/policies/{policy['id']}").text
        assert operator.get("/responder/policies/new").status_code == 403
    finally:
        operator.close()


def test_names_with_html_are_shown_as_text(live: RunningServer, admin: Browser) -> None:
    evil = '<script>alert("p")</script>'
    action = "<img src=x onerror=alert(1)>"
    with live.admin() as api:
        created = api.post(
            "/api/v1/responder/policies",
            json={
                "name": evil,
                "description": "<b>bold</b>",
                "initiation": ["manual"],
                "initial_actions": [probe(action), probe("next", depends_on=action)],
            },
        )
        assert created.status_code == 201, created.text
        response = open_response(api, evil, "203.0.113.77")
    pages = [
        admin.get("/responder"),
        admin.get(f"/responder/policies/{created.json()['id']}"),
        admin.get("/responder/responses"),
        admin.get(f"/responder/responses/{response['id']}"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1].text
    assert "<b>bold</b>" not in pages[1].text


def test_pages_need_a_login_and_unknown_ones_are_404(live: RunningServer, admin: Browser) -> None:
    with httpx.Client(base_url=live.url(), verify=False) as anonymous:
        for path in ("/responder", "/responder/responses", "/responder/policies/new"):
            away = anonymous.get(path)
            assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    assert admin.get("/responder/policies/99999").status_code == 404
    assert admin.get("/responder/policies/nope").status_code == 404
    assert admin.get("/responder/responses/99999").status_code == 404


def test_a_policy_is_deleted_unless_it_has_open_responses(
    live: RunningServer, admin: Browser
) -> None:
    with live.admin() as api:
        spare = api.post(
            "/api/v1/responder/policies", json={"name": "Spare", "initiation": ["manual"]}
        ).json()
        busy = api.post(
            "/api/v1/responder/policies", json={"name": "Busy", "initiation": ["manual"]}
        ).json()
        open_response(api, "Busy", "192.0.2.200")
        page = admin.get(f"/responder/policies/{spare['id']}")
        assert 'data-confirm="Delete the policy Spare? This cannot be undone."' in page.text
        gone = admin.post(f"/responder/policies/{spare['id']}/delete", {})
        assert (gone.status_code, gone.headers["location"]) == (303, "/responder?deleted=1")
        assert "Policy deleted." in admin.get("/responder?deleted=1").text
        assert api.get(f"/api/v1/responder/policies/{spare['id']}").status_code == 404
        kept = admin.post(f"/responder/policies/{busy['id']}/delete", {})
        assert kept.status_code == 409 and "1 open responses; close them first" in kept.text
        assert api.get(f"/api/v1/responder/policies/{busy['id']}").status_code == 200

    # The built-in policy is edited, not renamed or deleted.
    builtin = admin.get("/responder")
    found = re.search(r'data-policy-id="(\d+)">\s*<td><a[^>]*>Default Response<', builtin.text)
    assert found
    page = admin.get(f"/responder/policies/{found[1]}")
    assert "Delete policy" not in page.text and "cannot be renamed" in page.text
    assert re.search(
        r'id="f-name" name="name" type="text" value="Default Response"[^>]*readonly', page.text
    )


def test_a_policy_without_timeout_and_with_empty_rows_saves_as_meant(
    live: RunningServer, admin: Browser
) -> None:
    fields = dict(policy_form("Until closed"))
    fields.update({"timeout_unit": "never", "timeout_value": "", "initial_rows": "4"})
    fields.pop("enabled")
    sent = [("initiation", "manual"), *((k, v) for k, v in fields.items() if k != "initiation")]
    saved = admin.post("/responder/policies/new", sent)
    assert saved.status_code == 303, error_summary(saved.text)
    policy_id = saved.headers["location"].split("/")[-1].split("?")[0]
    with live.admin() as api:
        stored = api.get(f"/api/v1/responder/policies/{policy_id}").json()["policy"]
    assert stored["timeout_seconds"] is None and stored["enabled"] is False
    assert stored["initiation"] == ["manual"] and stored["threshold"] is None
    assert [a["name"] for a in stored["initial_actions"]] == ["lookup", "notify"]
    page = admin.get(f"/responder/policies/{policy_id}")
    assert 'value="never" selected' in page.text
    enabled = re.search(r'<input type="checkbox" id="f-enabled"[^>]*>', page.text)
    assert enabled and " checked" not in enabled[0]


@pytest.fixture(scope="module")
def engine_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("responder-off") / "data",
        poller={"enabled": False},
        responder={"enabled": False},
    )
    yield from start_server(settings)


def test_without_the_engine_the_pages_say_so(engine_off: RunningServer) -> None:
    browser = Browser(engine_off, "admin", ADMIN_PASSWORD)
    try:
        page = browser.get("/responder/responses")
        assert "The Responder is not running in this server" in page.text
        refused = browser.post("/responder/responses/1/close", {})
        assert refused.status_code == 503 and "The Responder is not running" in refused.text
        # Policies are still written; they take effect when it runs.
        saved = browser.post("/responder/policies/new", policy_form("Later"))
        assert saved.status_code == 303
    finally:
        browser.close()
