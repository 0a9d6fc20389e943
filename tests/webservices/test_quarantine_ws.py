"""quarantine/quarantine and quarantine/unquarantine on a real Garrison HTTPS server, called
with curl the way SMS scripts call them: every auth form, GET and POST, sloppy paths,
repeated keys, a JSON content type on a GET; and the audit row of every call.

Until the Responder engine is wired into `Services`, a fake with the engine's interface
stands in (`server.services.responder = FakeResponder()`).
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from garrison.auth import Principal
from garrison.errors import Conflict, Invalid, NotFound
from tests.support import ADMIN_PASSWORD, RunningServer
from tests.webservices.curl_peer import curl, needs_curl
from tests.webservices.ws_support import ADMIN, module_server, newest_audit, q

pytestmark = needs_curl

KEEP = object()  # the fake's "no timeout given": the policy's own applies
WEB_POLICY = "Web Policy"
MANUAL_POLICY = "Manual Only"
NEVER = "10.9.9.9"


@dataclass
class FakeRecord:
    id: int
    policy: str
    address: str
    state: str = "open"
    expires_at: datetime | None = None


@dataclass
class FakeResponder:
    """The engine's interface, with the policy rules the Web service relies on."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    records: dict[int, FakeRecord] = field(default_factory=dict)
    cap: int = 1000
    explode: bool = False

    async def open(
        self,
        *,
        policy: str,
        address: str,
        trigger: str,
        actor: Principal | None,
        mac: str = "",
        user: str = "",
        reason: str = "",
        events: tuple[object, ...] = (),
        timeout_seconds: int | object | None = KEEP,
    ) -> FakeRecord:
        seen = dict(policy=policy, address=address, trigger=trigger, actor=actor, reason=reason)
        self.calls.append(("open", {**seen, "timeout": timeout_seconds}))
        if self.explode:
            raise RuntimeError("engine bug with a secret traceback")
        if policy not in (WEB_POLICY, MANUAL_POLICY):
            raise NotFound(f"no policy named {policy!r}")
        if policy == MANUAL_POLICY:
            raise Invalid(
                f"policy {policy!r} does not allow initiation by an SNMP Trap or Web Service call"
            )
        if address == NEVER:
            raise Invalid(f"{address} is in the Never Respond set of policy {policy!r}")
        if sum(r.state == "open" for r in self.records.values()) >= self.cap:
            raise Conflict(f"policy {policy!r} has its maximum of {self.cap} open responses")
        record = FakeRecord(id=len(self.records) + 1, policy=policy, address=address)
        self.records[record.id] = record
        return record

    async def close(self, response_id: int, *, actor: Principal | None, reason: str) -> FakeRecord:
        self.calls.append(("close", dict(id=response_id, actor=actor, reason=reason)))
        if response_id not in self.records:
            raise NotFound(f"no response with id {response_id}")
        self.records[response_id].state = "closed"
        return self.records[response_id]

    async def close_host(
        self, address: str, *, mac: str = "", actor: Principal | None, reason: str
    ) -> list[FakeRecord]:
        self.calls.append(("close_host", dict(address=address, actor=actor, reason=reason)))
        found = [r for r in self.records.values() if r.address == address and r.state == "open"]
        for record in found:
            record.state = "closed"
        return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(tmp_path_factory, "ws")


@pytest.fixture
def fake(live: RunningServer) -> Iterator[FakeResponder]:
    """The fake in place of the running engine for one test; the engine back after it."""
    engine = live.services.responder
    responder = FakeResponder()
    live.services.responder = responder
    yield responder
    live.services.responder = engine


# -- quarantine ------------------------------------------------------------------------------


def test_get_with_smsuser_and_smspass_opens_a_response(
    live: RunningServer, fake: FakeResponder
) -> None:
    reply = curl(
        live,
        "/quarantine/quarantine" + q(ip="10.0.0.5", policy=WEB_POLICY, timeout="60", **ADMIN),
    )
    assert (reply.status, reply.body) == (200, "1\n")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    kind, call = fake.calls[-1]
    assert kind == "open"
    assert (call["policy"], call["address"], call["trigger"]) == (
        WEB_POLICY,
        "10.0.0.5",
        "web-service",
    )
    assert call["timeout"] == 3600 and call["actor"].username == "admin"
    row = newest_audit(live, "webservices.quarantine.quarantine")
    assert (row.actor, row.target, row.outcome) == ("admin", "address:10.0.0.5", "success")
    detail = json.loads(row.detail)
    assert detail["status"] == 200 and detail["response"] == 1 and detail["policy"] == WEB_POLICY
    assert ADMIN_PASSWORD not in row.detail


def test_post_multipart_with_ip_in_the_url_and_the_api_key_header(
    live: RunningServer, fake: FakeResponder
) -> None:
    reply = curl(
        live,
        "/quarantine/quarantine?ip=2001:db8::0:7",
        "-H", f"X-SMS-API-KEY: {live.api_key}",
        "-F", f"policy={WEB_POLICY}",
        "-F", "timeout=15",
    )  # fmt: skip
    assert (reply.status, reply.body) == (200, "1\n")
    call = fake.calls[-1][1]
    assert (call["address"], call["timeout"]) == ("2001:db8::7", 900)  # canonical form
    assert call["actor"].via == "api-key"
    row = newest_audit(live, "webservices.quarantine.quarantine")
    assert (row.target, json.loads(row.detail)["method"]) == ("address:2001:db8::7", "POST")


def test_post_form_with_basic_auth_and_no_timeout_keeps_the_policys(
    live: RunningServer, fake: FakeResponder
) -> None:
    reply = curl(
        live,
        "/quarantine/quarantine",
        "-u", f"admin:{ADMIN_PASSWORD}",
        "-d", "ip=192.0.2.44",
        "--data-urlencode", f"policy={WEB_POLICY}",
        "-d", "timeout=",
    )  # fmt: skip
    assert reply.status == 200, reply.body
    assert fake.calls[-1][1]["timeout"] is KEEP
    assert fake.calls[-1][1]["actor"].via == "password"


def test_sloppy_paths_json_content_type_and_repeated_keys(
    live: RunningServer, fake: FakeResponder, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "&" + urlencode({"policy": WEB_POLICY, **ADMIN})
    caplog.set_level(logging.INFO, logger="garrison.http")
    # "&" where "?" belongs: the credentials in that tail never reach the access log.
    reply = curl(live, "/quarantine/quarantine&ip=10.1.1.1" + secret)
    assert (reply.status, reply.body) == (200, "1\n")
    # The access line is written just after the answer leaves: wait for it, boundedly.
    deadline = time.monotonic() + 5
    while "/quarantine/quarantine 200" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "GET /quarantine/quarantine 200" in caplog.text
    assert ADMIN_PASSWORD.replace(" ", "+") not in caplog.text and "smspass" not in caplog.text
    # Doubled slashes, a trailing one, and a JSON content type on a GET.
    reply = curl(
        live,
        "//quarantine//quarantine/" + q(ip="10.1.1.2", policy=WEB_POLICY, **ADMIN),
        "-H", "Content-Type: application/json",
    )  # fmt: skip
    assert reply.status == 200, reply.body
    # The same ip in the URL and the body is one ip.
    reply = curl(
        live,
        "/quarantine/quarantine" + q(ip="10.1.1.3", **ADMIN),
        "-d", "ip=10.1.1.3",
        "-d", "policy=Web+Policy",
    )  # fmt: skip
    assert reply.status == 200, reply.body
    assert [c[1]["address"] for c in fake.calls] == ["10.1.1.1", "10.1.1.2", "10.1.1.3"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"policy": WEB_POLICY}, "ip is required: the IPv4 or IPv6 address of the host"),
        ({"ip": "10.0.0.300", "policy": WEB_POLICY}, "ip '10.0.0.300' is not an IPv4 or IPv6"),
        ({"ip": "10.0.0.0/24", "policy": WEB_POLICY}, "is not an IPv4 or IPv6 host address"),
        ({"ip": "10.0.0.1"}, "policy is required"),
        ({"ip": "10.0.0.1", "policy": WEB_POLICY, "timeout": "1.5"}, "timeout '1.5' is not a"),
        ({"ip": "10.0.0.1", "policy": WEB_POLICY, "timeout": "0"}, "whole number of minutes"),
        ({"ip": "10.0.0.1", "policy": "web policy"}, "no policy named 'web policy'"),
        ({"ip": "10.0.0.1", "policy": MANUAL_POLICY}, "does not allow initiation by an SNMP"),
        ({"ip": NEVER, "policy": WEB_POLICY}, "in the Never Respond set"),
    ],
)
def test_bad_requests_answer_400_with_a_one_line_reason(
    live: RunningServer, fake: FakeResponder, params: dict[str, str], reason: str
) -> None:
    reply = curl(live, "/quarantine/quarantine" + q(**params, **ADMIN))
    assert reply.status == 400
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reason in reply.body and reply.body.count("\n") == 1
    row = newest_audit(live, "webservices.quarantine.quarantine")
    assert row.outcome == "failure" and reason in json.loads(row.detail)["reason"]


def test_different_values_of_one_parameter_are_refused(
    live: RunningServer, fake: FakeResponder
) -> None:
    reply = curl(
        live,
        "/quarantine/quarantine" + q(ip="10.0.0.1", policy=WEB_POLICY, **ADMIN),
        "-d", "ip=10.0.0.2",
    )  # fmt: skip
    assert (reply.status, reply.body) == (400, "ip is given 2 times with different values\n")
    assert fake.calls == []


def test_the_policy_cap_answers_412(live: RunningServer, fake: FakeResponder) -> None:
    fake.cap = 0
    reply = curl(live, "/quarantine/quarantine" + q(ip="10.0.0.1", policy=WEB_POLICY, **ADMIN))
    assert (reply.status, reply.body) == (
        412,
        f"policy {WEB_POLICY!r} has its maximum of 0 open responses\n",
    )


def test_without_the_responder_the_answer_is_412(
    live: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live.services, "responder", None)
    reply = curl(live, "/quarantine/quarantine" + q(ip="10.0.0.1", policy=WEB_POLICY, **ADMIN))
    assert (reply.status, reply.body) == (412, "the Responder is not running\n")


def test_an_engine_exception_is_a_500_without_a_traceback(
    live: RunningServer, fake: FakeResponder
) -> None:
    fake.explode = True
    reply = curl(live, "/quarantine/quarantine" + q(ip="10.0.0.1", policy=WEB_POLICY, **ADMIN))
    assert (reply.status, reply.body) == (500, "internal error; the server log has the details\n")
    row = newest_audit(live, "webservices.quarantine.quarantine")
    assert row.outcome == "failure" and json.loads(row.detail)["status"] == 500
    # The server keeps serving.
    fake.explode = False
    assert (
        curl(live, "/quarantine/quarantine" + q(ip="10.0.0.1", policy=WEB_POLICY, **ADMIN)).status
        == 200
    )


# -- unquarantine ----------------------------------------------------------------------------


def test_unquarantine_by_id_and_by_ip(live: RunningServer, fake: FakeResponder) -> None:
    for address in ("10.2.0.1", "10.2.0.1", "10.2.0.2"):
        quarantine = q(ip=address, policy=WEB_POLICY, **ADMIN)
        assert curl(live, "/quarantine/quarantine" + quarantine).status == 200
    # By id, with policy and timeout ignored, on a doubled-slash path.
    reply = curl(
        live, "//quarantine/unquarantine" + q(id="3", policy="whatever", timeout="x", **ADMIN)
    )
    assert (reply.status, reply.body) == (200, "3\n")
    assert fake.records[3].state == "closed"
    row = newest_audit(live, "webservices.quarantine.unquarantine")
    assert (row.target, row.outcome) == ("response:3", "success")
    # By ip, as a POST form: both responses of the host close, one id a line.
    reply = curl(
        live, "/quarantine/unquarantine", "-u", f"admin:{ADMIN_PASSWORD}", "-d", "ip=10.2.0.1"
    )
    assert (reply.status, reply.body) == (200, "1\n2\n")
    assert fake.calls[-1] == ("close_host", fake.calls[-1][1])
    assert fake.calls[-1][1]["address"] == "10.2.0.1"
    assert newest_audit(live, "webservices.quarantine.unquarantine").target == "address:10.2.0.1"


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"id": "99"}, 404, "no response with id 99"),
        ({"ip": "10.3.3.3"}, 404, "no open response for 10.3.3.3"),
        ({"id": "abc"}, 400, "id 'abc' is not a response id"),
        ({"id": "-1"}, 400, "is not a response id"),
        ({"ip": "nonsense"}, 400, "ip 'nonsense' is not an IPv4 or IPv6"),
        ({}, 400, "ip or id is required"),
        ({"ip": "10.3.3.3", "id": "1"}, 400, "give ip or id, not both"),
    ],
)
def test_unquarantine_errors(
    live: RunningServer, fake: FakeResponder, params: dict[str, str], status: int, reason: str
) -> None:
    reply = curl(live, "/quarantine/unquarantine" + q(**params, **ADMIN))
    assert reply.status == status and reason in reply.body, reply.body
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


# -- the servlet base ------------------------------------------------------------------------


def test_unknown_methods_and_verbs(live: RunningServer, fake: FakeResponder) -> None:
    reply = curl(live, "/quarantine/nope" + q(**ADMIN))
    assert reply.status == 404
    assert (
        reply.body == "no Web service method quarantine/nope; it offers quarantine, unquarantine\n"
    )
    assert newest_audit(live, "webservices.quarantine.nope").outcome == "failure"
    reply = curl(live, "/dbAccess/nope" + q(**ADMIN))
    assert (reply.status, reply.headers["content-type"]) == (404, "text/plain; charset=utf-8")
    assert reply.body == "no Web service method dbAccess/nope; it offers tptDBServlet\n"
    reply = curl(live, "/quarantine/quarantine" + q(**ADMIN), "-X", "PUT")
    assert (reply.status, reply.headers["allow"]) == (405, "GET, POST")


def test_the_rest_of_the_app_is_untouched(live: RunningServer) -> None:
    reply = curl(live, "/api/v1/health")
    assert (reply.status, json.loads(reply.body)) == (200, {"status": "ok"})
    openapi = json.loads(curl(live, "/api/v1/openapi.json").body)
    assert not [p for p in openapi["paths"] if not p.startswith("/api/v1") and p != "/metrics"]
    # The client API port is not the SMS's Web services port.
    done = subprocess.run(
        ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
         f"{live.url('client-api')}/quarantine/quarantine{q(**ADMIN)}"],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    assert done.stdout == b"404"


# -- against the real Responder engine -------------------------------------------------------


def engine_policy(live: RunningServer, document: dict[str, Any]) -> None:
    """Create a policy and wait (bounded) until the running engine has loaded it."""
    live.services.policies.create_policy(Principal.local_cli(), document)
    engine = live.services.responder
    assert engine is not None, "the Responder engine is not running in the test server"
    deadline = time.monotonic() + 20
    while document["name"] not in engine.book.policies:
        assert time.monotonic() < deadline, "the engine did not load the new policy"
        time.sleep(0.05)


def test_the_real_engine_opens_and_closes_responses(live: RunningServer) -> None:
    engine_policy(
        live,
        {"name": "WS Real", "initiation": ["external"], "never": ["10.66.0.0/16"]},
    )
    reply = curl(
        live,
        "/quarantine/quarantine?ip=10.5.5.5",
        "-H", f"X-SMS-API-KEY: {live.api_key}",
        "-d", "policy=WS+Real",
        "-d", "timeout=30",
    )  # fmt: skip
    assert reply.status == 200, reply.body
    response_id = int(reply.body)
    record = live.services.policies.get_response(Principal.local_cli(), response_id)
    assert (record.policy, record.address, record.trigger) == ("WS Real", "10.5.5.5", "web-service")
    assert record.state == "open" and record.authority == "admin"
    assert record.expires_at is not None
    assert 29 * 60 < (record.expires_at - record.opened_at).total_seconds() <= 30 * 60
    # Refusals, in the engine's words.
    for params, reason in (
        ({"ip": "10.66.1.1", "policy": "WS Real"}, "Never Respond"),
        ({"ip": "10.5.5.6", "policy": "Default Response"}, "does not allow"),
        ({"ip": "10.5.5.6", "policy": "ws real"}, "no Responder policy is named 'ws real'"),
    ):
        refused = curl(live, "/quarantine/quarantine" + q(**params, **ADMIN))
        assert (refused.status, reason in refused.body) == (400, True), refused.body
    # Release by id, then by address finds nothing open.
    reply = curl(live, f"/quarantine/unquarantine?id={response_id}&smsuser=admin", "-d",
                 "smspass=" + ADMIN_PASSWORD)  # fmt: skip
    assert (reply.status, reply.body) == (200, f"{response_id}\n")
    record = live.services.policies.get_response(Principal.local_cli(), response_id)
    assert record.state in ("closing", "closed")
    assert curl(live, "/quarantine/unquarantine" + q(ip="10.5.5.5", **ADMIN)).status == 404
    assert curl(live, "/quarantine/unquarantine" + q(id="999999", **ADMIN)).status == 404
