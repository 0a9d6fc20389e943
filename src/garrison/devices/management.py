"""The client of a device's HTTPS management API (docs/device-protocol.md, section 4).

One ``DeviceManagementClient`` talks to one device; ``ManagementPool`` keeps one per device
id for the server's lifetime and rebuilds it when the device's URL or credentials change.
Every failure is one ``ManagementError`` whose ``reason`` says what went wrong in words an
operator can act on (unreachable, timed out, TLS, refused credentials, an unexpected answer
with an excerpt of its body) and whose ``retryable`` says whether trying again may help.

Authentication: a device record with a ``mgmt_username`` uses HTTP Basic
(username, ``mgmt_secret``); without one, ``mgmt_secret`` is the bearer token. Secrets are
never logged and never part of a ``repr`` or an error message.

How the device's certificate is trusted (devices usually have self-signed certificates,
``ipsim``'s always do), in this order:

1. **Pinned fingerprint.** ``Trust(sha256=...)``, or on a device record a management URL
   ending in ``#sha256=<64 hex digits>`` (the fingerprint ``ipsim`` prints as
   ``management.cert_sha256``; colons allowed). Before the first request the client makes a
   TLS handshake *without credentials*, checks that the certificate has exactly that SHA-256,
   and then trusts that certificate alone: the real connections are verified by OpenSSL
   against it (host name not checked; the pin is the identity), so a man in the middle can
   neither pass the check nor see the token. A mismatch is a non-retryable TLS error.
2. **A CA bundle.** ``Trust(cafile=...)``: ordinary verification with host name checking,
   for devices with certificates from the site's CA.
3. **Trust on first use (TOFU).** With a ``PinStore`` (the pool's default: a JSON file
   ``<data_dir>/tls/device-pins.json``, keyed by ``host:port``), the certificate seen at the
   first contact is pinned and every later contact must present the same one. The risk:
   whoever answers at that address the very first time is believed; pin the fingerprint
   explicitly (1) to close that gap. A device whose certificate was replaced on purpose
   fails with a message saying so; remove its line from the file (or pin the new
   fingerprint in its URL) to accept the new one.
4. **Off**, only when asked for explicitly: ``Trust(verify=False)`` or a URL ending in
   ``#verify=off``. Anyone on the path can then impersonate the device and read its token.

Without a pin store and without any of the above, the system CAs and host name checking
apply (a CA-signed device works, a self-signed one fails with a TLS error).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import ssl
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from garrison.store.devices import DeviceRecord
from garrison.tls import DEFAULT_PROFILE, TlsError, client_context

log = logging.getLogger("garrison.devices.management")

API_PATH = "/api/v1"
DEFAULT_TIMEOUT = 10.0
BODY_EXCERPT = 200  # characters of an unexpected answer quoted in an error
TRACE_BATCH = 500  # sequence numbers a packet-traces request names (the URL stays short)
PCAP_MEDIA_TYPE = "application/vnd.tcpdump.pcap"
MAX_DROPPED = 4  # HTTP clients set aside after a TLS failure, before the oldest is closed


class Failure(StrEnum):
    """What kind of failure a ``ManagementError`` is."""

    CONFIG = "config"  # the device's settings cannot work (no URL, a malformed pin)
    UNREACHABLE = "unreachable"  # refused, no route, connection dropped
    TIMEOUT = "timeout"
    TLS = "tls"  # handshake failed, certificate not trusted, pin mismatch
    UNAUTHORIZED = "unauthorized"  # 401
    REJECTED = "rejected"  # another 4xx: the device refused the request
    DEVICE = "device"  # 5xx, or an answer that does not follow the protocol
    INVALID = "invalid"  # the caller's input was refused before sending


_RETRYABLE = {Failure.UNREACHABLE, Failure.TIMEOUT, Failure.DEVICE}


class ManagementError(Exception):
    """A management call failed; ``reason`` says why (without the device's name, which the
    caller knows), ``failure`` what kind of failure, ``status`` the HTTP status if any."""

    def __init__(
        self,
        reason: str,
        *,
        failure: Failure,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure
        self.status = status
        self.retryable = failure in _RETRYABLE if retryable is None else retryable


# -- trust ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trust:
    """How the device's certificate is verified (see the module docstring)."""

    sha256: str = ""  # a pinned fingerprint, normalized to 64 lower-case hex digits
    cafile: Path | None = None
    verify: bool = True


def normalize_fingerprint(text: str) -> str:
    """``AB:CD:...`` or ``abcd...`` -> 64 lower-case hex digits; ManagementError otherwise."""
    digits = text.strip().replace(":", "").lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ManagementError(
            "a certificate pin must be a SHA-256 fingerprint: 64 hex digits, colons allowed",
            failure=Failure.CONFIG,
        )
    return digits


def show_fingerprint(digits: str) -> str:
    """As browsers and ``openssl x509 -fingerprint`` show it: ``AB:CD:...``."""
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2)).upper()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a device's API is and how to trust it, parsed from its management URL."""

    base_url: str  # https://host:port/api/v1
    host: str
    port: int
    trust: Trust

    @property
    def key(self) -> str:
        """``host:port``, the pin store's key."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_endpoint(url: str) -> Endpoint:
    """A management URL, with or without the ``/api/v1`` suffix, with an optional fragment
    ``#sha256=<fingerprint>`` or ``#verify=off``."""
    if not url:
        raise ManagementError("the device has no management URL", failure=Failure.CONFIG)
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        raise ManagementError(
            "the management URL has an invalid port", failure=Failure.CONFIG
        ) from None
    if parts.scheme != "https" or not parts.hostname:
        # Plain HTTP would send the token in clear; the protocol is HTTPS only.
        raise ManagementError(
            "the management URL must look like https://host[:port][/api/v1]",
            failure=Failure.CONFIG,
        )
    trust = Trust()
    fragment = parts.fragment.strip()
    if fragment:
        name, _, value = fragment.partition("=")
        if name.lower() == "sha256":
            trust = Trust(sha256=normalize_fingerprint(value))
        elif name.lower() == "verify" and value.lower() in ("off", "false", "no"):
            trust = Trust(verify=False)
        else:
            raise ManagementError(
                "the management URL's fragment must be #sha256=<fingerprint> or #verify=off",
                failure=Failure.CONFIG,
            )
    path = parts.path.rstrip("/")
    if not path.endswith(API_PATH):
        path += API_PATH
    base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return Endpoint(base, parts.hostname.lower(), port or 443, trust)


class PinStore:
    """Certificate fingerprints learned at first contact, by ``host:port``.

    In memory when ``path`` is None; otherwise kept in a JSON file that is re-read on a miss
    (several pools, or several Garrison processes, may share it) and replaced atomically.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._pins: dict[str, str] = {}

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("cannot read device certificate pins from %s: %s", self.path, exc)
            return
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(key, str) and isinstance(value, str):
                    with contextlib.suppress(ManagementError):
                        self._pins[key] = normalize_fingerprint(value)

    def get(self, endpoint: str) -> str | None:
        if endpoint not in self._pins:
            self._reload()
        return self._pins.get(endpoint)

    def learn(self, endpoint: str, fingerprint: str) -> str:
        """Pin ``fingerprint`` unless the endpoint already has a pin; return the one in force."""
        self._reload()
        pinned = self._pins.setdefault(endpoint, normalize_fingerprint(fingerprint))
        self._save()
        return pinned

    def forget(self, endpoint: str) -> bool:
        self._reload()
        found = self._pins.pop(endpoint, None) is not None
        if found:
            self._save()
        return found

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({k: show_fingerprint(v) for k, v in sorted(self._pins.items())}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".device-pins.")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


# -- answers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuarantinedHost:
    ip: str
    reason: str
    segment: str
    added_ns: int


@dataclass(frozen=True, slots=True)
class EventsPage:
    """One page of ``GET /events``: page on with ``since = next_since`` while ``more``."""

    events: list[dict[str, Any]]
    last_seq: int
    next_since: int
    more: bool
    truncated: bool  # events between ``since`` and the oldest kept were dropped


@dataclass(frozen=True, slots=True)
class PacketTraces:
    """Packet traces as the device sent them: libpcap files (one a request) and how many
    event traces they hold together. `garrison.devices.pcap` merges the files."""

    files: tuple[bytes, ...]
    count: int


def _excerpt(text: str) -> str:
    """A short, printable piece of a body for an error message."""
    clean = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= BODY_EXCERPT else clean[:BODY_EXCERPT] + "..."


def _check_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except (ValueError, AttributeError):
        raise ManagementError(
            f"{str(ip)[:64]!r} is not an IPv4 or IPv6 address", failure=Failure.INVALID
        ) from None


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS: the device's certificate is not trusted ({error.verify_message})"
    return f"TLS handshake failed: {error.reason or error}"


# -- the client -------------------------------------------------------------------------


class DeviceManagementClient:
    """The management API of one device. Use as ``async with``, or call ``close()``."""

    def __init__(
        self,
        url: str,
        *,
        secret: str,
        username: str = "",
        trust: Trust | None = None,
        pins: PinStore | None = None,
        tls_profile: str = DEFAULT_PROFILE,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.endpoint = parse_endpoint(url)
        if trust is not None:
            self.endpoint = Endpoint(
                self.endpoint.base_url, self.endpoint.host, self.endpoint.port, trust
            )
        if not secret:
            raise ManagementError(
                "the device has no management secret (token or password)", failure=Failure.CONFIG
            )
        self._auth: httpx.Auth = httpx.BasicAuth(username, secret) if username else _Bearer(secret)
        self._pins = pins
        self._profile = tls_profile
        self.timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._dropped: list[httpx.AsyncClient] = []  # closed by close(), not under a request
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"DeviceManagementClient({self.endpoint.base_url!r})"

    async def __aenter__(self) -> DeviceManagementClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        clients = [*self._dropped, *([self._http] if self._http is not None else [])]
        self._http, self._dropped = None, []
        for http in clients:
            await http.aclose()

    # -- the API ------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """The device's identity, versions, load, profile, filter package and TRHA state."""
        return await self._json("GET", "/status", expect=(200,))

    async def quarantine_list(self) -> list[QuarantinedHost]:
        body = await self._json("GET", "/quarantine", expect=(200,))
        try:
            return [
                QuarantinedHost(
                    ip=str(h["ip"]),
                    reason=str(h.get("reason", "")),
                    segment=str(h.get("segment", "")),
                    added_ns=int(h.get("added_ns", 0)),
                )
                for h in body["hosts"]
            ]
        except (KeyError, TypeError, ValueError):
            raise self._malformed("GET /quarantine", body) from None

    async def quarantine_add(self, ip: str, reason: str = "", segment: str = "") -> bool:
        """Quarantine ``ip``; True if the device added it, False if it was already there."""
        payload: dict[str, str] = {"ip": _check_ip(ip)}
        if reason:
            payload["reason"] = reason
        if segment:
            payload["segment"] = segment
        body = await self._json("POST", "/quarantine", json=payload, expect=(200, 201))
        created = body.get("created")
        if not isinstance(created, bool):
            raise self._malformed("POST /quarantine", body)
        return created

    async def quarantine_remove(self, ip: str) -> bool:
        """Release ``ip``; True if the device removed it, False if it was not quarantined."""
        address = _check_ip(ip)
        response = await self._send("DELETE", f"/quarantine/{quote(address, safe='')}")
        if response.status_code == 404:
            return False
        body = self._decode(response, "DELETE /quarantine", expect=(200,))
        return bool(body.get("removed", True))

    async def apply_profile(
        self,
        name: str,
        version: str = "1.0",
        *,
        filters: Mapping[int | str, str] | None = None,
        categories: Mapping[str, str] | None = None,
        uuid: str | None = None,
    ) -> dict[str, Any]:
        """Apply a security profile; returns the profile as the device now has it."""
        payload: dict[str, Any] = {
            "name": name,
            "version": version,
            "filters": {str(k): v for k, v in (filters or {}).items()},
            "categories": dict(categories or {}),
        }
        if uuid is not None:
            payload["uuid"] = uuid
        body = await self._json("POST", "/profile", json=payload, expect=(200,))
        if not isinstance(body.get("profile"), dict):
            raise self._malformed("POST /profile", body)
        return body["profile"]

    async def install_filter_package(
        self, version: str, package: bytes, *, sha256: str | None = None
    ) -> dict[str, Any]:
        """Upload and install a filter package; ``sha256`` defaults to the bytes' own hash
        (pass the publisher's to have the device check the bytes against it)."""
        if not version or not package:
            raise ManagementError(
                "a filter package needs a version and some bytes", failure=Failure.INVALID
            )
        digest = sha256.lower() if sha256 else hashlib.sha256(package).hexdigest()
        body = await self._json(
            "POST",
            "/filter-package",
            params={"version": version, "sha256": digest},
            content=package,
            headers={"Content-Type": "application/octet-stream"},
            expect=(200,),
            # A large package takes longer to send than a JSON call.
            timeout=httpx.Timeout(self.timeout, write=max(self.timeout, len(package) / 1e6)),
        )
        if not isinstance(body.get("filter_package"), dict):
            raise self._malformed("POST /filter-package", body)
        return body["filter_package"]

    async def events_since(self, seq: int, limit: int = 1000) -> EventsPage:
        """Events with a sequence number above ``seq``, oldest first."""
        body = await self._json(
            "GET", "/events", params={"since": seq, "limit": limit}, expect=(200,)
        )
        try:
            return EventsPage(
                events=list(body["events"]),
                last_seq=int(body["last_seq"]),
                next_since=int(body["next_since"]),
                more=bool(body["more"]),
                truncated=bool(body.get("truncated", False)),
            )
        except (KeyError, TypeError, ValueError):
            raise self._malformed("GET /events", body) from None

    async def packet_traces(self, seqs: Iterable[int] | None = None) -> PacketTraces:
        """The device's packet traces of the events with sequence numbers ``seqs`` (every
        trace it keeps when None); sequence numbers it keeps no trace for are skipped."""
        if seqs is None:
            batches: list[list[int]] = [[]]
        else:
            wanted = sorted(set(seqs))
            if not wanted or wanted[0] < 0:
                raise ManagementError(
                    "packet traces are asked for by sequence numbers (0 or more)",
                    failure=Failure.INVALID,
                )
            batches = [wanted[i : i + TRACE_BATCH] for i in range(0, len(wanted), TRACE_BATCH)]
        files: list[bytes] = []
        count = 0
        for batch in batches:
            params = {"seq": ",".join(map(str, batch))} if batch else None
            response = await self._send(
                "GET", "/packet-traces", params=params, headers={"Accept": PCAP_MEDIA_TYPE}
            )
            self._check(response, "GET /packet-traces", expect=(200,))
            try:
                count += int(response.headers.get("x-trace-count", ""))
            except ValueError:
                raise self._malformed("GET /packet-traces", "no X-Trace-Count header") from None
            files.append(response.content)
        return PacketTraces(files=tuple(files), count=count)

    async def fallback(self) -> bool:
        """Whether the device is in layer-2 fallback (passing traffic uninspected)."""
        body = await self._json("GET", "/fallback", expect=(200,))
        return self._fallback_field(body, "l2fb", "GET /fallback")

    async def set_fallback(self, enabled: bool) -> bool:
        """Put the device in layer-2 fallback or take it out; True if that changed it."""
        body = await self._json("PUT", "/fallback", json={"l2fb": bool(enabled)}, expect=(200,))
        if self._fallback_field(body, "l2fb", "PUT /fallback") is not bool(enabled):
            raise self._malformed("PUT /fallback", body)
        return self._fallback_field(body, "changed", "PUT /fallback")

    @classmethod
    def _fallback_field(cls, body: dict[str, Any], key: str, what: str) -> bool:
        value = body.get(key)
        if not isinstance(value, bool):
            raise cls._malformed(what, body)
        return value

    # -- plumbing -----------------------------------------------------------------------

    async def _json(
        self, method: str, path: str, *, expect: tuple[int, ...], **kwargs: Any
    ) -> dict[str, Any]:
        response = await self._send(method, path, **kwargs)
        return self._decode(response, f"{method} {path}", expect=expect)

    def _decode(
        self, response: httpx.Response, what: str, *, expect: tuple[int, ...]
    ) -> dict[str, Any]:
        self._check(response, what, expect=expect)
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            raise ManagementError(
                f"{what} answered {status} with a body that is not JSON: "
                f"{_excerpt(response.text) or '(empty)'}",
                failure=Failure.DEVICE,
                status=status,
            ) from None
        if not isinstance(body, dict):
            raise self._malformed(what, body)
        return body

    @staticmethod
    def _check(response: httpx.Response, what: str, *, expect: tuple[int, ...]) -> None:
        """Raise the ManagementError of an unexpected status."""
        status = response.status_code
        if status == 401:
            raise ManagementError(
                "401 unauthorized: the device refused the credentials (wrong token, user or "
                "password)",
                failure=Failure.UNAUTHORIZED,
                status=status,
            )
        if status not in expect:
            detail = _error_text(response)
            failure = Failure.DEVICE if status >= 500 else Failure.REJECTED
            raise ManagementError(
                f"{what} answered {status}: {detail}",
                failure=failure,
                status=status,
                retryable=failure is Failure.DEVICE or status in (408, 429),
            )

    @staticmethod
    def _malformed(what: str, body: object) -> ManagementError:
        return ManagementError(
            f"{what}: the answer does not follow the device protocol: {_excerpt(str(body))}",
            failure=Failure.DEVICE,
        )

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        http = await self._client()
        try:
            return await http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ManagementError(
                f"timed out after {self.timeout:g} s", failure=Failure.TIMEOUT
            ) from None
        except httpx.TransportError as exc:
            tls = _ssl_cause(exc)
            if tls is not None:
                # The certificate may have changed since it was checked: check again next
                # time. Other requests may still be using this client, so it is not closed.
                if self._http is http:
                    self._dropped.append(http)
                    self._http = None
                raise ManagementError(_tls_reason(tls), failure=Failure.TLS) from None
            raise ManagementError(
                f"unreachable: {_transport_text(exc)}", failure=Failure.UNREACHABLE
            ) from None

    async def _client(self) -> httpx.AsyncClient:
        async with self._lock:  # one TLS decision, however many calls start at once
            if self._http is None:
                while len(self._dropped) > MAX_DROPPED:  # long done with by now
                    await self._dropped.pop(0).aclose()
                context = await self._tls_context()
                self._http = httpx.AsyncClient(
                    base_url=self.endpoint.base_url,
                    verify=context,
                    auth=self._auth,
                    timeout=self.timeout,
                    follow_redirects=False,  # a redirect could carry the token elsewhere
                    trust_env=False,  # no proxies or CA bundles from the environment
                    headers={"Accept": "application/json"},
                )
            return self._http

    async def _tls_context(self) -> ssl.SSLContext:
        trust = self.endpoint.trust
        try:
            if not trust.verify:
                return client_context(self._profile, verify=False)
            if trust.cafile is not None:
                return client_context(self._profile, cafile=trust.cafile)
        except TlsError as exc:
            raise ManagementError(str(exc), failure=Failure.CONFIG) from None
        pins = self._pins
        pin = trust.sha256 or (pins.get(self.endpoint.key) if pins is not None else None)
        if pin is None and pins is None:
            return client_context(self._profile)
        der = await self._peer_certificate()
        seen = hashlib.sha256(der).hexdigest()
        if pin is None and pins is not None:
            pin = pins.learn(self.endpoint.key, seen)
            if pin == seen:
                log.info(
                    "pinned the management certificate of %s at first contact: SHA-256 %s",
                    self.endpoint.key,
                    show_fingerprint(seen),
                )
        if pin is not None and seen != pin:
            raise ManagementError(
                "TLS: the device's certificate does not match the pinned one (pinned SHA-256 "
                f"{show_fingerprint(pin)}, presented {show_fingerprint(seen)}); if the "
                "certificate was replaced on purpose, pin the new fingerprint",
                failure=Failure.TLS,
            )
        # Trust that certificate alone; the host name is not checked, the pin is the identity.
        context = client_context(self._profile, verify=False)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(der))
        return context

    async def _peer_certificate(self) -> bytes:
        """The device's certificate, from a handshake that sends no request (no credentials)."""
        context = client_context(self._profile, verify=False)
        host = self.endpoint.host
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, self.endpoint.port, ssl=context), self.timeout
            )
        except TimeoutError:
            raise ManagementError(
                f"timed out after {self.timeout:g} s", failure=Failure.TIMEOUT
            ) from None
        except ssl.SSLError as exc:
            raise ManagementError(_tls_reason(exc), failure=Failure.TLS) from None
        except OSError as exc:
            raise ManagementError(
                f"unreachable: {_os_text(exc)}", failure=Failure.UNREACHABLE
            ) from None
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        if not der:
            raise ManagementError("TLS: the device sent no certificate", failure=Failure.TLS)
        return der


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __repr__(self) -> str:
        return "_Bearer(***)"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request


def _error_text(response: httpx.Response) -> str:
    """The device's ``{"error", "message"}`` if it sent one, else an excerpt of the body."""
    try:
        body = response.json()
    except ValueError:
        return _excerpt(response.text) or "(empty body)"
    if isinstance(body, dict) and ("error" in body or "message" in body):
        return _excerpt(f"{body.get('error', '')}: {body.get('message', '')}".strip(": "))
    return _excerpt(json.dumps(body))


def _os_text(exc: OSError) -> str:
    """``connection refused`` rather than asyncio's ``Connect call failed ('h', p)``."""
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return _excerpt(str(exc)) or type(exc).__name__


def _transport_text(exc: httpx.TransportError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError):
            return _os_text(cause)
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    return _excerpt(text) or type(exc).__name__


# -- the pool ---------------------------------------------------------------------------


class ManagementPool:
    """One client per device id, rebuilt when the device's URL or credentials change."""

    def __init__(
        self,
        *,
        pins: PinStore | None = None,
        tls_profile: str = DEFAULT_PROFILE,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.pins = pins
        self.tls_profile = tls_profile
        self.timeout = timeout
        self._clients: dict[int, tuple[tuple[str, str, str, float], DeviceManagementClient]] = {}
        self._retired: list[DeviceManagementClient] = []

    def client(
        self, device: DeviceRecord, *, timeout: float | None = None
    ) -> DeviceManagementClient:
        """The client of ``device``; raises ManagementError when its settings cannot work."""
        wanted = timeout or self.timeout
        key = (device.mgmt_url, device.mgmt_username, device.mgmt_secret, wanted)
        known = self._clients.get(device.id)
        if known is not None and known[0] == key:
            return known[1]
        if known is not None:
            self._retired.append(known[1])  # closed by close(): this method cannot await
        client = DeviceManagementClient(
            device.mgmt_url,
            secret=device.mgmt_secret,
            username=device.mgmt_username,
            pins=self.pins,
            tls_profile=self.tls_profile,
            timeout=wanted,
        )
        self._clients[device.id] = (key, client)
        return client

    async def close(self) -> None:
        clients = [c for _, c in self._clients.values()] + self._retired
        self._clients.clear()
        self._retired.clear()
        for client in clients:
            await client.close()
