"""The Web action against a real HTTP server (uvicorn serving a small Starlette app that
records each request as a ticketing hook would see it), over plain HTTP and over TLS with
a throwaway CA; and the settings checks."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from garrison.errors import Invalid
from garrison.responder.actions import registry
from garrison.responder.actions.base import ActionContext, ActionFailed, ActionServices
from garrison.responder.actions.web import WebAction, WebConfig, display_url, render_url
from tests.collectors.syslog_peers import make_pki
from tests.events.samples import T0, full_alert
from tests.support import make_settings

pytestmark = pytest.mark.timeout(60)


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hook:
    """The recording server: /status/<code> answers with that code, /slow never answers
    until the test ends, anything else answers 201."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


def build_app(hook: Hook) -> Starlette:
    async def record(request: Request) -> Response:
        hook.seen.append(
            Seen(
                method=request.method,
                path=request.url.path,
                raw_query=request.scope["query_string"].decode(),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
            )
        )
        path = request.url.path
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            headers = {"Location": "https://elsewhere.example/x?token=t"} if code == 302 else {}
            return PlainTextResponse("x" * 300 if code == 500 else "nope", code, headers)
        if path == "/slow":
            await hook.release.wait()
        return PlainTextResponse("ticket 7 created", 201)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", record, methods=methods)])


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    make_pki(tmp_path / "pki")
    return tmp_path / "pki"


async def serve(tls: Path | None = None) -> AsyncIterator[Hook]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    hook = Hook(url=f"{scheme}://127.0.0.1:{port}")
    options: dict[str, Any] = {}
    if tls is not None:
        options = {"ssl_certfile": str(tls / "server.crt"), "ssl_keyfile": str(tls / "server.key")}
    config = uvicorn.Config(
        build_app(hook), lifespan="off", access_log=False,
        timeout_graceful_shutdown=2, **options,
        log_config=None,  # uvicorn would otherwise rewire (and mute) the process's loggers
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):  # up to 10 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield hook
    finally:
        hook.release.set()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    async for running in serve():
        yield running


@pytest.fixture
async def tls_hook(pki: Path) -> AsyncIterator[Hook]:
    async for running in serve(pki):
        yield running


def context(**changes: Any) -> ActionContext:
    values: dict[str, Any] = {
        "response_id": 42,
        "policy": "Block & tell",
        "address": "2001:db8::66",
        "phase": "initial",
        "trigger": "threshold",
        "opened_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "user": 'bob "the admin"',
        "events": (full_alert(),),
    }
    values.update(changes)
    return ActionContext(**values)


def action(tmp_path: Path, **config: Any) -> WebAction:
    settings = make_settings(tmp_path / "data")
    return WebAction(WebConfig.model_validate(config), ActionServices(settings=settings))


async def test_get_as_the_sms_does_with_values_in_the_query(tmp_path: Path, hook: Hook) -> None:
    web = action(
        tmp_path,
        url=hook.url + "/hooks/block/{address}?ip={address}&policy={policy}&id={response_id}",
    )
    result = await web.run(context())
    (seen,) = hook.seen
    assert seen.method == "GET"
    # The IPv6 address stays one path segment and one query value; '&' stays in its value.
    assert seen.path == "/hooks/block/2001:db8::66"
    assert parse_qs(seen.raw_query) == {
        "ip": ["2001:db8::66"],
        "policy": ["Block & tell"],
        "id": ["42"],
    }
    assert seen.body == b""
    assert result.data == {"status": "201"}
    assert result.detail == f"GET {hook.url}/hooks/block/2001%3Adb8%3A%3A66 answered 201"


async def test_post_json_with_headers_as_a_ticketing_hook_sees_it(
    tmp_path: Path, hook: Hook
) -> None:
    web = action(
        tmp_path,
        url=hook.url + "/api/tickets",
        method="post",
        headers={"Authorization": "Bearer t0ken", "X-Policy": "{policy}", "X-Events": "{events}"},
        body='{{"title": "Garrison: {address}", "user": "{user}", "events": "{events}"}}',
        body_format="json",
    )
    await web.run(context(events=(full_alert(), full_alert(name="second"))))
    (seen,) = hook.seen
    assert (seen.method, seen.path) == ("POST", "/api/tickets")
    assert seen.headers["authorization"] == "Bearer t0ken"
    assert seen.headers["x-policy"] == "Block & tell"
    assert "\n" not in seen.headers["x-events"] and "second" in seen.headers["x-events"]
    assert seen.headers["content-type"] == "application/json"
    document = json.loads(seen.body)
    assert document["title"] == "Garrison: 2001:db8::66"
    assert document["user"] == 'bob "the admin"'
    assert document["events"].count("\n") == 1 and document["events"].endswith(
        "second 2001:db8:85a3::8a2e:370:7334 -> 198.51.100.7:4500"
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_with_a_form_body(tmp_path: Path, hook: Hook, method: str) -> None:
    web = action(
        tmp_path, url=hook.url + "/q", method=method,
        body="ip={address}&policy={policy}", body_format="form",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )  # fmt: skip
    await web.run(context())
    (seen,) = hook.seen
    assert seen.method == method
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert parse_qs(seen.body.decode()) == {"ip": ["2001:db8::66"], "policy": ["Block & tell"]}


async def test_server_error_is_a_retryable_failure_with_status_and_body(
    tmp_path: Path, hook: Hook
) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, url=hook.url + "/status/500?token=secret").run(context())
    reason = failed.value.reason
    assert reason.startswith(f"GET {hook.url}/status/500 answered 500: ")
    assert reason.endswith("x" * 200) and "x" * 201 not in reason
    assert "secret" not in reason  # the query may hold a token
    assert failed.value.retryable


async def test_client_error_is_not_retried(tmp_path: Path, hook: Hook) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, url=hook.url + "/status/404").run(context())
    assert "answered 404: nope" in failed.value.reason
    assert not failed.value.retryable


async def test_redirects_are_reported_not_followed(tmp_path: Path, hook: Hook) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, url=hook.url + "/status/302").run(context())
    assert "answered 302: redirect to https://elsewhere.example/x" in failed.value.reason
    assert "token" not in failed.value.reason
    assert len(hook.seen) == 1


async def test_expect_status_list(tmp_path: Path, hook: Hook) -> None:
    web = action(tmp_path, url=hook.url + "/status/404", expect_status=[404, 410])
    assert (await web.run(context())).data["status"] == "404"
    with pytest.raises(ActionFailed) as failed:  # 201 is 2xx, but not in the list
        await action(tmp_path, url=hook.url + "/t", expect_status=[200]).run(context())
    assert "answered 201" in failed.value.reason


async def test_timeout(tmp_path: Path, hook: Hook) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, url=hook.url + "/slow", timeout_seconds=0.5).run(context())
    assert failed.value.reason == f"GET {hook.url}/slow: no answer within 0.5s"
    assert failed.value.retryable


async def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, url=f"http://127.0.0.1:{port}/x").run(context())
    assert f"GET http://127.0.0.1:{port}/x: connection failed" in failed.value.reason
    assert failed.value.retryable


async def test_https_with_the_ca_file(tmp_path: Path, pki: Path, tls_hook: Hook) -> None:
    web = action(tmp_path, url=tls_hook.url + "/t?ip={address}", ca_file=str(pki / "ca.crt"))
    assert (await web.run(context())).data["status"] == "201"
    assert parse_qs(tls_hook.seen[0].raw_query) == {"ip": ["2001:db8::66"]}


async def test_https_untrusted_certificate_fails_clearly(tmp_path: Path, tls_hook: Hook) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, url=tls_hook.url + "/t").run(context())
    reason = failed.value.reason
    assert "TLS certificate is not trusted" in reason and "local issuer" in reason
    assert not failed.value.retryable
    assert tls_hook.seen == []


async def test_https_verify_off(tmp_path: Path, tls_hook: Hook) -> None:
    web = action(tmp_path, url=tls_hook.url + "/t", verify_tls=False)
    assert (await web.run(context())).data["status"] == "201"


async def test_missing_ca_file_is_a_settings_failure(tmp_path: Path, tls_hook: Hook) -> None:
    web = action(tmp_path, url=tls_hook.url + "/t", ca_file=str(tmp_path / "none.pem"))
    with pytest.raises(ActionFailed) as failed:
        await web.run(context())
    assert "CA file not found" in failed.value.reason and not failed.value.retryable


def test_url_values_are_encoded_whole() -> None:
    url = render_url(
        "https://h.example/a/{address}?u={user}#{policy}",
        {"address": "::1", "user": "a b/c?d=e&f", "policy": "#x"},
    )
    assert url == "https://h.example/a/%3A%3A1?u=a%20b%2Fc%3Fd%3De%26f#%23x"
    assert display_url("https://u:p@h.example:8443/p/q?token=1") == "https://h.example:8443/p/q"


@pytest.fixture
def only_web(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "ACTION_TYPES", {"web": WebAction})
    monkeypatch.setattr(registry, "_loaded", True, raising=False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"url": "ftp://h.example/x"}, "url: Value error, 'ftp://h.example/x': only http://"),
        ({"url": "h.example/x"}, "url: Value error, 'h.example/x': only http://"),
        ({"url": "http:///x"}, "url: Value error, 'http:///x' names no host"),
        ({"url": "http://{destination}/x"}, "url: Value error, 'http://{destination}/x': the host"),
        ({"url": "http://h.example/{nope}"}, "url: unknown template field {nope}"),
        ({"url": "http://h/x", "method": "TRACE"}, "method: Input should be 'GET', 'POST'"),
        ({"url": "http://h/x", "headers": {"X Bad": "1"}}, "headers: Value error, 'X Bad'"),
        ({"url": "http://h/x", "headers": {"X-A": "{nope}"}}, "headers: unknown template field"),
        ({"url": "http://h/x", "body": "{nope}"}, "body: unknown template field {nope}"),
        ({"url": "http://h/x", "expect_status": [99]}, "expect_status: Value error, 99 is not"),
        ({"url": "http://h/x", "timeout_seconds": 0}, "timeout_seconds: Input should be greater"),
        ({"url": "http://h/x", "verb": "GET"}, "verb: Extra inputs are not permitted"),
    ],
)
def test_parse_config_refuses_bad_settings(
    only_web: None, raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid) as refused:
        registry.parse_config("web", raw, "policy P, action hook")
    assert str(refused.value).startswith("policy P, action hook: ")
    assert message in str(refused.value)


def test_parse_config_defaults(only_web: None) -> None:
    config = registry.parse_config("web", {"url": "https://h.example/x?ip={address}"}, "p")
    assert isinstance(config, WebConfig)
    assert (config.method, config.verify_tls, config.expect_status) == ("GET", True, [])
