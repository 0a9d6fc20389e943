"""The Responder over REST on a running server: policies checked before they are saved,
responses opened by hand, their actions' results, close and extend, and roles."""

from __future__ import annotations

import time
from typing import Any

import httpx

from garrison.auth import Principal
from tests.responder import probe_action
from tests.responder.probe_action import RUNS, probe
from tests.support import RunningServer


def wait_for(api: httpx.Client, response_id: int, predicate: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    body = api.get(f"/api/v1/responses/{response_id}").json()
    while not predicate(body) and time.monotonic() < deadline:
        time.sleep(0.05)
        body = api.get(f"/api/v1/responses/{response_id}").json()
    return body


def test_policies_are_checked_before_they_are_saved(server: RunningServer) -> None:
    with server.admin() as api:
        cycle = api.post(
            "/api/v1/responder/policies",
            json={
                "name": "Loop",
                "initial_actions": [
                    probe("a", depends_on="b"),
                    probe("b", depends_on="a"),
                ],
            },
        )
        assert cycle.status_code == 422
        assert "cycle: a -> b -> a" in cycle.json()["error"]["message"]
        unknown = api.post(
            "/api/v1/responder/policies",
            json={"name": "U", "initial_actions": [{"name": "x", "type": "telepathy"}]},
        )
        assert unknown.status_code == 422
        assert "unknown action type 'telepathy'" in unknown.json()["error"]["message"]
        template = api.post(
            "/api/v1/responder/policies",
            json={"name": "T", "initial_actions": [probe("x", message="{hostname}")]},
        )
        assert "unknown template field {hostname}" in template.json()["error"]["message"]
        sets = api.post("/api/v1/responder/policies", json={"name": "S", "never": ["10.0.0/8"]})
        assert sets.status_code == 422 and "never" in sets.json()["error"]["message"]
        names = [p["name"] for p in api.get("/api/v1/responder/policies").json()]
        assert names == ["Default Response"]
        types = {t["type"] for t in api.get("/api/v1/responder/action-types").json()}
        assert {"email", "ips-quarantine", "nms-trap", "switch-disconnect", "web"} <= types


def test_a_manual_response_runs_its_actions_and_closes_with_its_timeout_actions(
    server: RunningServer,
) -> None:
    probe_action.reset()
    with server.admin() as api:
        created = api.post(
            "/api/v1/responder/policies",
            json={
                "name": "Manual",
                "initiation": ["manual"],
                "timeout_seconds": 3600,
                "initial_actions": [probe("block"), probe("tell", depends_on="block")],
                "timeout_actions": [probe("unblock")],
            },
        )
        assert created.status_code == 201, created.text
        opened = api.post(
            "/api/v1/responses",
            json={"policy": "Manual", "address": "203.0.113.50", "reason": "seen scanning"},
        )
        assert opened.status_code == 201, opened.text
        response_id = opened.json()["id"]
        body = wait_for(
            api, response_id, lambda b: all(a["state"] == "succeeded" for a in b["actions"][:2])
        )
        assert body["state"] == "open" and body["authority"] == "admin"
        assert [(a["phase"], a["name"], a["state"]) for a in body["actions"]] == [
            ("initial", "block", "succeeded"),
            ("initial", "tell", "succeeded"),
            ("timeout", "unblock", "pending"),
        ]
        extended = api.post(f"/api/v1/responses/{response_id}/extend", json={"seconds": 7200})
        assert extended.json()["expires_at"] > body["expires_at"]
        closed = api.post(f"/api/v1/responses/{response_id}/close", json={"reason": "fixed"})
        assert closed.status_code == 200
        done = wait_for(api, response_id, lambda b: b["state"] == "closed")
        assert done["close_reason"] == "fixed" and done["host_state"] == "UNQUARANTINED"
        assert RUNS["unblock"] == [(response_id, "timeout", "203.0.113.50")]
        listed = api.get("/api/v1/responses", params={"state": "closed"}).json()
        assert [r["id"] for r in listed] == [response_id]
        audit = api.get("/api/v1/audit").json()
        actions = {entry["action"] for entry in audit}
        assert {"policy.create", "response.open", "response.extend", "response.close"} <= actions


def test_refusals_say_why(server: RunningServer) -> None:
    with server.admin() as api:
        api.post(
            "/api/v1/responder/policies",
            json={"name": "Guarded", "never": ["192.0.2.0/24"], "initiation": ["manual"]},
        )
        never = api.post("/api/v1/responses", json={"policy": "Guarded", "address": "192.0.2.9"})
        assert never.status_code == 422 and "Never Respond" in never.json()["error"]["message"]
        nope = api.post("/api/v1/responses", json={"policy": "Nope", "address": "192.0.2.9"})
        assert nope.status_code == 404
        bad = api.post("/api/v1/responses", json={"address": "not-an-ip"})
        assert bad.status_code == 422
        missing = api.post("/api/v1/responses/999999/close", json={})
        assert missing.status_code == 404
        builtin = api.get("/api/v1/responder/policies").json()[0]
        assert builtin["builtin"] is True
        refused = api.delete(f"/api/v1/responder/policies/{builtin['id']}")
        assert refused.status_code == 422 and "built-in" in refused.json()["error"]["message"]


def test_an_auditor_sees_responses_but_cannot_open_them(server: RunningServer) -> None:
    auth = server.services.auth
    user = auth.create_user(
        Principal.local_cli(), username="watcher", password="a long passphrase 1", role="auditor"
    )
    key = auth.create_api_key(Principal.local_cli(), user_id=user.id, name="k")
    with server.client(key=key.secret) as api:
        assert api.get("/api/v1/responses").status_code == 200
        assert api.get("/api/v1/responder/policies").status_code == 200
        refused = api.post("/api/v1/responses", json={"address": "192.0.2.1"})
        assert refused.status_code == 403
        refused = api.post("/api/v1/responder/policies", json={"name": "X"})
        assert refused.status_code == 403
