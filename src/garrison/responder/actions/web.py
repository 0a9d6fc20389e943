"""The Web action: one HTTP(S) request about the response, for ticketing and chat hooks.

The SMS's Web action "performs an HTTP GET on a URL"; GET stays the default, and any of
POST, PUT, PATCH and DELETE may carry headers and a body.

How template values go into the request (so that a value can never change its shape):

* URL: every value is percent-encoded whole (RFC 3986, nothing kept "safe") before it is
  put in, in the path as in the query: an IPv6 address ``2001:db8::1`` becomes
  ``2001%3Adb8%3A%3A1``, a policy named ``a&b=c`` stays one query value, and no value can
  add a path segment, a parameter or a fragment. The scheme and the host are fixed text
  (a template there is refused), so a response can only ever call the server the policy
  names.
* Headers: values as they are, with line breaks turned into spaces (a header is one line).
* Body: ``body_format`` says how values are escaped: ``text`` as they are, ``json`` as the
  inside of a JSON string (write ``{{"text": "{address} {events}"}}``: doubled braces are
  literal ones in the template syntax), ``form`` percent-encoded for
  ``application/x-www-form-urlencoded``. The matching Content-Type is sent unless the
  headers set one.

Redirects are not followed: a 3xx is reported with its Location, so the operator fixes
the URL (or lists the code in ``expect_status``).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import ClassVar, Literal
from urllib.parse import quote, quote_plus, urlsplit

import httpx
from pydantic import Field, field_validator

from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionServices,
    ActionType,
)
from garrison.responder.actions.outbound_tls import outbound_tls_context
from garrison.responder.actions.registry import register
from garrison.responder.templates import render

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
BodyFormat = Literal["text", "json", "form"]
CONTENT_TYPES: dict[str, str] = {
    "text": "text/plain; charset=utf-8",
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
}
# RFC 9110 token characters: what a header name may be made of.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
BODY_EXCERPT = 200  # characters of an unexpected answer's body put in the reason


class WebConfig(ActionConfig):
    """Settings of one Web action in a policy."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("url", "headers", "body")

    url: str = Field(min_length=1, max_length=8000, description="http:// or https:// URL")
    method: Method = "GET"
    headers: dict[str, str] = Field(default_factory=dict, description="name -> template")
    body: str = Field("", max_length=1_000_000)
    body_format: BodyFormat = "text"
    verify_tls: bool = True
    ca_file: str = Field("", description="PEM bundle to verify the server; empty: system CAs")
    expect_status: list[int] = Field(
        default_factory=list, description="status codes that mean success; empty: any 2xx"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise ValueError(f"{value[:80]!r} is not a URL: {exc}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError(f"{value[:80]!r}: only http:// and https:// URLs are allowed")
        if not parts.netloc:
            raise ValueError(f"{value[:80]!r} names no host")
        if "{" in parts.netloc or "}" in parts.netloc:
            raise ValueError(f"{value[:80]!r}: the host cannot be a template, only path and query")
        if any(c.isspace() for c in value):
            raise ValueError(f"{value[:80]!r}: a URL cannot hold spaces (write %20)")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name or not set(name) <= _TOKEN:
                raise ValueError(f"{name!r} is not a valid header name")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {name}: a value cannot hold a line break")
        return value

    @field_validator("expect_status")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        for code in value:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status code (100-599)")
        return value


def render_url(template: str, values: Mapping[str, str]) -> str:
    """The URL with each value percent-encoded whole (see the module's docstring)."""
    return render(template, {k: quote(v, safe="") for k, v in values.items()})


def render_body(template: str, values: Mapping[str, str], body_format: BodyFormat) -> str:
    if body_format == "json":
        escaped = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in values.items()}
        return render(template, escaped)
    if body_format == "form":
        return render(template, {k: quote_plus(v) for k, v in values.items()})
    return render(template, values)


def render_headers(
    headers: Mapping[str, str], values: Mapping[str, str], body_format: BodyFormat, body: str
) -> dict[str, str]:
    out = {name: " ".join(render(text, values).splitlines()) for name, text in headers.items()}
    if body and not any(name.lower() == "content-type" for name in out):
        out["Content-Type"] = CONTENT_TYPES[body_format]
    return out


def display_url(url: str) -> str:
    """The URL as shown in results and reasons: without its query and user info, which
    often carry tokens."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path or '/'}"


@register
class WebAction(ActionType[WebConfig]):
    kind: ClassVar[str] = "web"
    title: ClassVar[str] = "Send an HTTP(S) request to a URL (ticketing and chat hooks)"
    config_type: ClassVar[type[ActionConfig]] = WebConfig

    def __init__(self, config: WebConfig, services: ActionServices) -> None:
        super().__init__(config, services)
        self._http: httpx.AsyncClient | None = None

    async def run(self, context: ActionContext) -> ActionResult:
        values = context.values()
        config = self.config
        url = render_url(config.url, values)
        body = render_body(config.body, values, config.body_format) if config.body else ""
        headers = render_headers(config.headers, values, config.body_format, body)
        where = f"{config.method} {display_url(url)}"
        client = self._client()
        try:
            response = await client.request(
                config.method, url, headers=headers, content=body.encode() if body else None
            )
        except httpx.TimeoutException:
            raise ActionFailed(f"{where}: no answer within {config.timeout_seconds:g}s") from None
        except httpx.ConnectError as exc:
            raise _connect_failure(where, exc) from None
        except httpx.InvalidURL as exc:  # a value made the URL too long, ...
            raise ActionFailed(f"{where}: invalid URL: {exc}", retryable=False) from None
        except httpx.HTTPError as exc:
            raise ActionFailed(f"{where} failed: {_words(exc)}") from None
        status = response.status_code
        if not self._expected(status):
            raise ActionFailed(
                f"{where} answered {status}: {_excerpt(response)}",
                # A client error will not change by itself; a server error, a timeout
                # (408) or a rate limit (429) may pass.
                retryable=status >= 500 or status in (408, 429),
            )
        return ActionResult(detail=f"{where} answered {status}", data={"status": str(status)})

    def _client(self) -> httpx.AsyncClient:
        """One client for every run of this action: making a TLS context costs tens of
        milliseconds of CPU, and the connection pool saves handshakes to busy hooks."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                verify=self._tls_context(),
                timeout=self.config.timeout_seconds,
                follow_redirects=False,
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _expected(self, status: int) -> bool:
        if self.config.expect_status:
            return status in self.config.expect_status
        return 200 <= status < 300

    def _tls_context(self) -> ssl.SSLContext:
        return outbound_tls_context(
            self.services,
            ca_file=self.config.ca_file,
            verify_tls=self.config.verify_tls,
            what="Web action",
        )


def _connect_failure(where: str, exc: httpx.ConnectError) -> ActionFailed:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ActionFailed(
            f"{where}: the server's TLS certificate is not trusted "
            f"({cause.verify_message or cause.reason}); set ca_file, or verify_tls = false",
            retryable=False,
        )
    if isinstance(cause, ssl.SSLError):
        return ActionFailed(f"{where}: TLS handshake failed: {cause.reason or cause}")
    return ActionFailed(f"{where}: connection failed: {_words(exc)}")


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text[: BODY_EXCERPT * 2].split())[:BODY_EXCERPT]
    location = response.headers.get("location")
    if location and 300 <= response.status_code < 400:
        return f"redirect to {display_url(location)} {text}".strip()
    return text or "(empty body)"


def _words(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
