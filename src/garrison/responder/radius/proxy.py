"""The RADIUS proxy on UDP 1812 (catalog ``radius-proxy``): switches send their
Access-Requests here; the proxy answers those of quarantined MACs and users with an
Access-Reject itself and forwards the rest to the site's RADIUS server.

What a correct proxy must do, and this one does (RFC 2865, 2866, 3579, 5080):

* accept packets only from configured switches (by source address or CIDR), checking
  the Message-Authenticator when present (required with EAP) and the Accounting Request
  Authenticator;
* forward with a new Identifier and Request Authenticator, re-hiding User-Password with
  the upstream secret, adding CHAP-Challenge when the CHAP challenge was the old
  authenticator, a Message-Authenticator, and a Proxy-State of its own;
* check the upstream reply's Response Authenticator and Proxy-State, strip that
  Proxy-State, re-encrypt Tunnel-Password and MS-MPPE keys for the switch, and re-sign
  the reply with the switch's secret under its original Identifier and authenticator;
* stay silent to the switch when the upstream never answers (the switch retries or
  fails over, as with any RADIUS server), and answer a retransmission from its cache.

Each request runs in its own task, so one slow upstream round trip holds up no other.
Whatever arrives, the proxy keeps serving: bad packets are counted per reason in
``drops`` and logged at most once per interval per reason.

Accounting-Requests arriving here are forwarded to the upstream's accounting port and
teach the session table the host's framed address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from garrison.config.settings import RadiusClient, Settings
from garrison.ratelog import RateLimitedLog
from garrison.responder.actions.base import QuarantineRegistry
from garrison.responder.radius import packets as rp
from garrison.responder.radius.sessions import SessionTable, normalize_mac
from garrison.server.sockets import ListenerError
from garrison.server.udp_listener import UdpListener

log = logging.getLogger("garrison.responder.radius")

CATALOG_KEY = "radius-proxy"
REJECT_MESSAGE = "quarantined by Garrison"
DEFAULT_LOG_INTERVAL = 60.0
# A retransmission of a request already answered gets the same answer for this long
# (RFC 5080 section 2.2.2 asks servers to cache responses for a few seconds).
REPLY_CACHE_SECONDS = 5.0
MAX_CACHED_REQUESTS = 16_384
# Requests in flight at once; past this the switch's retransmission comes back later.
MAX_IN_FLIGHT = 4_096
# RFC 2866 section 1: accounting is one port above authentication (1812/1813), which
# is how every RADIUS server is deployed; pass the port when a site differs.
ACCOUNTING_PORT_OFFSET = 1

_ACCESS_REPLIES = frozenset({rp.ACCESS_ACCEPT, rp.ACCESS_REJECT, rp.ACCESS_CHALLENGE})


class ClientTable:
    """The switches allowed to use the proxy, each with its shared secret; the most
    specific network containing the source address wins."""

    def __init__(self, clients: Sequence[RadiusClient]) -> None:
        entries: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, bytes]] = []
        for client in clients:
            try:
                network = ipaddress.ip_network(client.address.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"[radius_proxy] clients: {client.address!r} is not an address or CIDR"
                ) from None
            entries.append((network, client.secret.encode("utf-8")))
        entries.sort(key=lambda entry: entry[0].prefixlen, reverse=True)
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def secret_for(self, address: str) -> bytes | None:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for network, secret in self._entries:
            if ip.version == network.version and ip in network:
                return secret
        return None


class UpstreamBusy(Exception):
    """All 256 identifiers toward the upstream are in flight."""


@dataclass
class _Pending:
    future: asyncio.Future[rp.RadiusPacket]
    authenticator: bytes
    request_code: int
    proxy_state: bytes


class _UpstreamProtocol(asyncio.DatagramProtocol):
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self._upstream.reply_received(data)
        except Exception:  # an exception here would make asyncio close the socket
            log.exception("radius upstream: error handling a reply")

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the request times out and is counted.
        log.debug("radius upstream: %s", exc)


class Upstream:
    """One RADIUS server port the proxy forwards to, over one connected UDP socket with
    its own 256 identifiers. ``exchange`` sends and retransmits until a verified reply
    arrives or the retries are spent."""

    def __init__(
        self,
        host: str,
        port: int,
        secret: bytes,
        *,
        timeout: float,
        retries: int,
        drop: Callable[[str, str, str], None],
    ) -> None:
        self.host = host
        self.port = port
        self._secret = secret
        self._timeout = timeout
        self._retries = retries
        self._drop = drop
        self._pending: dict[int, _Pending] = {}
        self._next_id = secrets.randbelow(256)
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _UpstreamProtocol(self), remote_addr=(self.host, self.port)
            )
        except OSError as exc:
            raise ListenerError(
                f"{CATALOG_KEY}: cannot use the upstream RADIUS server {self.where} "
                f"([radius_proxy] upstream_host): {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.cancel()
        self._pending.clear()

    def _allocate(self) -> int:
        for step in range(256):
            identifier = (self._next_id + step) % 256
            if identifier not in self._pending:
                self._next_id = (identifier + 1) % 256
                return identifier
        raise UpstreamBusy(f"256 requests in flight to {self.where}")

    async def exchange(
        self,
        code: int,
        attributes: Sequence[rp.Attribute],
        proxy_state: bytes,
        authenticator: bytes | None = None,
    ) -> rp.RadiusPacket | None:
        """Send a request and wait for its verified reply; None when none came.

        An Access-Request takes the ``authenticator`` its User-Password was hidden
        with; an Accounting-Request's is computed over the packet."""
        if self._transport is None:
            raise RuntimeError("upstream is not open")
        identifier = self._allocate()
        request = rp.RadiusPacket(
            code, identifier, authenticator or rp.new_authenticator(), tuple(attributes)
        )
        raw = rp.sign_request(request, self._secret)
        loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future(), raw[4:20], code, proxy_state)
        self._pending[identifier] = pending
        try:
            # The same bytes each time: a retransmission keeps Identifier and
            # authenticator so the server recognises it (RFC 5080 section 2.2.1).
            for _attempt in range(self._retries + 1):
                if self._transport is None:
                    return None
                self._transport.sendto(raw)
                try:
                    return await asyncio.wait_for(asyncio.shield(pending.future), self._timeout)
                except TimeoutError:
                    continue
            return None
        finally:
            if self._pending.get(identifier) is pending:
                del self._pending[identifier]
            if not pending.future.done():
                pending.future.cancel()

    def reply_received(self, data: bytes) -> None:
        try:
            reply = rp.decode(data)
        except rp.MalformedPacket as exc:
            self._drop(f"upstream_{exc.reason}", self.where, exc.detail)
            return
        pending = self._pending.get(reply.identifier)
        if pending is None or pending.future.done():
            self._drop(
                "upstream_unexpected", self.where, f"no request waits for id {reply.identifier}"
            )
            return
        expected = (
            _ACCESS_REPLIES
            if pending.request_code == rp.ACCESS_REQUEST
            else {rp.ACCOUNTING_RESPONSE}
        )
        if reply.code not in expected:
            self._drop("upstream_bad_code", self.where, f"{reply.name} answering a request")
            return
        if not rp.verify_reply(reply, pending.authenticator, self._secret):
            self._drop(
                "upstream_bad_authenticator",
                self.where,
                "Response Authenticator or Message-Authenticator does not match the secret",
            )
            return
        states = reply.values(rp.PROXY_STATE)
        if not states or states[-1] != pending.proxy_state:
            self._drop("upstream_bad_proxy_state", self.where, "our Proxy-State did not come back")
            return
        pending.future.set_result(reply)


class _ListenerProtocol(asyncio.DatagramProtocol):
    def __init__(self, proxy: RadiusProxy) -> None:
        self._proxy = proxy

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self._proxy.datagram(data, (str(addr[0]), int(addr[1])))
        except Exception:  # an exception here would make asyncio close the socket
            log.exception("%s: error handling a datagram", CATALOG_KEY)

    def error_received(self, exc: Exception) -> None:
        log.debug("%s: %s", CATALOG_KEY, exc)


@dataclass
class _Client:
    address: str
    port: int
    secret: bytes = field(repr=False)

    @property
    def where(self) -> str:
        return f"{self.address}:{self.port}"


_RequestKey = tuple[str, int, int, bytes]


class RadiusProxy:
    """The ``radius-proxy`` component. ``sessions`` is the table the switch-disconnect
    action reads (``ActionServices.radius_sessions``)."""

    name = CATALOG_KEY

    def __init__(
        self,
        settings: Settings,
        registry: QuarantineRegistry,
        *,
        sessions: SessionTable | None = None,
        upstream_accounting_port: int | None = None,
        log_interval: float = DEFAULT_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = settings.radius_proxy
        self._listener = UdpListener(settings.server.host, settings.port(CATALOG_KEY), self.name)
        self._registry = registry
        self.clients = ClientTable(config.clients)
        self.sessions = sessions if sessions is not None else SessionTable()
        self._clock = clock
        self._ratelog = RateLimitedLog(log, log_interval, clock)
        upstream_secret = config.upstream_secret.encode("utf-8")
        self._upstream_secret = upstream_secret
        timing = {"timeout": config.upstream_timeout_seconds, "retries": config.upstream_retries}
        self._auth = Upstream(
            config.upstream_host, config.upstream_port, upstream_secret, drop=self._drop, **timing
        )
        acct_port = upstream_accounting_port or config.upstream_port + ACCOUNTING_PORT_OFFSET
        self._acct = Upstream(
            config.upstream_host, acct_port, upstream_secret, drop=self._drop, **timing
        )
        self._upstream_configured = bool(upstream_secret)
        # Dropped packets per reason, and what was done with the others.
        self.drops: dict[str, int] = {}
        self.stats: dict[str, int] = {}
        self._seen: OrderedDict[_RequestKey, tuple[float, bytes | None]] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (differs from the configured one when that was 0)."""
        return self._listener.port

    async def start(self) -> None:
        if not self._upstream_configured:
            log.warning(
                "%s: [radius_proxy] upstream_secret is empty; forwarded requests will fail",
                self.name,
            )
        if not len(self.clients):
            log.warning("%s: no [radius_proxy] clients; every request will be dropped", self.name)
        await self._auth.open()
        await self._acct.open()
        await self._listener.open(lambda: _ListenerProtocol(self))
        log.info(
            "%s listening on %s:%d/udp, forwarding to %s",
            self.name,
            self._listener.host,
            self.port,
            self._auth.where,
        )

    async def stop(self) -> None:
        if self._listener.close():
            log.info("%s stopped", self.name)
        # Requests in flight have no one to answer to any more.
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._auth.close()
        self._acct.close()

    # --- counting -------------------------------------------------------------------

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def _drop(self, reason: str, peer: str, detail: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        self._ratelog.warning(
            reason, "%s: packet from %s dropped (%s): %s", self.name, peer, reason, detail
        )

    # --- receiving ------------------------------------------------------------------

    def datagram(self, data: bytes, source: tuple[str, int]) -> None:
        """One datagram from a switch; never raises."""
        self._count("received")
        address, port = source
        address = address.split("%", 1)[0]
        peer = f"{address}:{port}"
        secret = self.clients.secret_for(address)
        if secret is None:
            self._drop("unknown_client", peer, "not in [radius_proxy] clients")
            return
        try:
            request = rp.decode(data)
        except rp.MalformedPacket as exc:
            self._drop(exc.reason, peer, exc.detail)
            return
        if request.code not in (rp.ACCESS_REQUEST, rp.ACCOUNTING_REQUEST):
            self._drop("unsupported_code", peer, f"{request.name} is not proxied")
            return
        problem = _check_request(request, secret)
        if problem is not None:
            self._drop(problem[0], peer, problem[1])
            return
        key: _RequestKey = (address, port, request.identifier, request.authenticator)
        if self._duplicate(key, (address, port)):
            return
        if len(self._tasks) >= MAX_IN_FLIGHT:
            self._forget(key)
            self._drop("overloaded", peer, f"{MAX_IN_FLIGHT} requests in flight")
            return
        client = _Client(address, port, secret)
        task = asyncio.get_running_loop().create_task(self._handle(request, client, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _duplicate(self, key: _RequestKey, source: tuple[str, int]) -> bool:
        """Whether ``key`` was seen: a retransmission of a request in flight is ignored
        (the proxy retransmits upstream itself), one already answered gets the answer."""
        now = self._clock()
        while self._seen:
            oldest_key, (expires, _reply) = next(iter(self._seen.items()))
            # In-flight entries never expire (they end when answered or given up), so
            # they hold back the pruning behind them only briefly; the cap is firm.
            if expires > now and len(self._seen) < MAX_CACHED_REQUESTS:
                break
            del self._seen[oldest_key]
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = (float("inf"), None)
            return False
        self._count("duplicates")
        reply = seen[1]
        if reply is not None and self._listener.transport is not None:
            self._listener.transport.sendto(reply, source)
        return True

    def _remember(self, key: _RequestKey, reply: bytes) -> None:
        self._seen.pop(key, None)
        self._seen[key] = (self._clock() + REPLY_CACHE_SECONDS, reply)

    def _forget(self, key: _RequestKey) -> None:
        self._seen.pop(key, None)

    # --- handling -------------------------------------------------------------------

    async def _handle(self, request: rp.RadiusPacket, client: _Client, key: _RequestKey) -> None:
        try:
            if request.code == rp.ACCESS_REQUEST:
                reply = await self._access(request, client)
            else:
                reply = await self._accounting(request, client)
        except asyncio.CancelledError:
            self._forget(key)
            raise
        except rp.MalformedPacket as exc:
            self._forget(key)
            self._drop(exc.reason, client.where, exc.detail)
            return
        except UpstreamBusy as exc:
            self._forget(key)
            self._drop("upstream_busy", client.where, str(exc))
            return
        except Exception:  # a bug must not stop the proxy; say so once per interval
            self._forget(key)
            self._drop("internal_error", client.where, "unexpected error (see debug log)")
            log.debug(
                "%s: error handling a request from %s", self.name, client.where, exc_info=True
            )
            return
        if reply is None:
            self._forget(key)  # the switch's retransmission may try again
            return
        self._remember(key, reply)
        if self._listener.transport is not None:
            self._listener.transport.sendto(reply, (client.address, client.port))
            self._count("answered")

    def _learn(self, packet: rp.RadiusPacket, client: _Client, *, framed_ip: str = "") -> str:
        """Learn the session the packet describes; returns its normalized MAC."""
        calling = packet.text(rp.CALLING_STATION_ID)
        nas_address = packet.address(rp.NAS_IP_ADDRESS) or packet.address(rp.NAS_IPV6_ADDRESS)
        self.sessions.learn(
            client_address=client.address,
            nas_address=nas_address or client.address,
            nas_identifier=packet.text(rp.NAS_IDENTIFIER),
            nas_port=packet.integer(rp.NAS_PORT),
            session_id=packet.text(rp.ACCT_SESSION_ID),
            calling_station_id=calling,
            user=packet.text(rp.USER_NAME),
            framed_ip=framed_ip or packet.address(rp.FRAMED_IP_ADDRESS),
        )
        return normalize_mac(calling)

    def _blocked(self, mac: str, user: str, peer: str) -> bool:
        try:
            return bool(self._registry.blocks(mac=mac, user=user))
        except Exception as exc:
            # The site's RADIUS server still decides; a broken registry must not lock
            # every host out of the network.
            self._count("registry_errors")
            self._ratelog.warning(
                "registry_error",
                "%s: quarantine check failed for a request from %s: %s",
                self.name,
                peer,
                exc,
            )
            return False

    async def _access(self, request: rp.RadiusPacket, client: _Client) -> bytes | None:
        mac = self._learn(request, client)
        user = request.text(rp.USER_NAME)
        if self._blocked(mac, user, client.where):
            self._count("rejected_quarantined")
            # One key for all hosts: a flood of quarantined MACs must not grow the
            # log limiter's memory; the count is in ``stats``.
            self._ratelog.warning(
                "quarantined",
                "%s: Access-Request for MAC %s user %r from %s rejected: quarantined",
                self.name,
                mac or "-",
                user,
                client.where,
            )
            return quarantine_reject(request, client.secret)
        proxy_state = secrets.token_bytes(8)
        authenticator = rp.new_authenticator()
        attributes = forward_access_attributes(
            request,
            client_secret=client.secret,
            upstream_secret=self._upstream_secret,
            upstream_authenticator=authenticator,
            proxy_state=proxy_state,
        )
        self._count("forwarded")
        reply = await self._auth.exchange(rp.ACCESS_REQUEST, attributes, proxy_state, authenticator)
        if reply is None:
            self._drop(
                "upstream_timeout",
                client.where,
                f"no answer from {self._auth.where} for {request.name} id {request.identifier}",
            )
            return None
        if reply.code == rp.ACCESS_ACCEPT and (framed := reply.address(rp.FRAMED_IP_ADDRESS)):
            self._learn(request, client, framed_ip=framed)
        return relay_reply(
            reply,
            request,
            client_secret=client.secret,
            upstream_secret=self._upstream_secret,
            upstream_authenticator=authenticator,
            proxy_state=proxy_state,
        )

    async def _accounting(self, request: rp.RadiusPacket, client: _Client) -> bytes | None:
        status = request.integer(rp.ACCT_STATUS_TYPE)
        if status == rp.ACCT_STOP:
            self.sessions.end(
                client_address=client.address,
                calling_station_id=request.text(rp.CALLING_STATION_ID),
                user=request.text(rp.USER_NAME),
            )
        else:
            self._learn(request, client)
        proxy_state = secrets.token_bytes(8)
        attributes = [*request.attributes, (rp.PROXY_STATE, proxy_state)]
        self._count("forwarded")
        reply = await self._acct.exchange(rp.ACCOUNTING_REQUEST, attributes, proxy_state)
        if reply is None:
            self._drop(
                "upstream_timeout",
                client.where,
                f"no answer from {self._acct.where} for {request.name} id {request.identifier}",
            )
            return None
        # Verified against our request already; accounting replies hide nothing, so
        # only our Proxy-State goes before re-signing for the switch.
        attributes = strip_proxy_state(reply.attributes, proxy_state)
        return rp.sign_reply(
            reply.code, request.identifier, attributes, request.authenticator, client.secret
        )


# --- the pure parts of proxying ---------------------------------------------------------


def _check_request(request: rp.RadiusPacket, secret: bytes) -> tuple[str, str] | None:
    """Why a request from a known switch must be dropped, or None when it may pass."""
    if request.code == rp.ACCOUNTING_REQUEST:
        if not rp.verify_request(request, secret):
            return "bad_authenticator", "Request Authenticator does not match the client's secret"
        return None
    received = request.first(rp.MESSAGE_AUTHENTICATOR)
    if received is not None:
        if not rp.verify_request(request, secret):
            return (
                "bad_message_authenticator",
                "Message-Authenticator does not match the client's secret",
            )
    elif request.has(rp.EAP_MESSAGE):
        # RFC 3579 section 3.2: EAP without Message-Authenticator is silently discarded.
        return "missing_message_authenticator", "EAP-Message without Message-Authenticator"
    return None


def forward_access_attributes(
    request: rp.RadiusPacket,
    *,
    client_secret: bytes,
    upstream_secret: bytes,
    upstream_authenticator: bytes,
    proxy_state: bytes,
) -> list[rp.Attribute]:
    """The attributes of an Access-Request as the proxy sends it upstream: all of the
    switch's, in order, with User-Password re-hidden for the upstream hop, the CHAP
    challenge made explicit (it was the old authenticator), a Message-Authenticator
    (filled when signed) and our Proxy-State last (RFC 2865 section 5.33)."""
    attributes: list[rp.Attribute] = []
    for code, value in request.attributes:
        if code == rp.USER_PASSWORD:
            plain = rp.reveal_password(value, client_secret, request.authenticator)
            value = rp.hide_password(plain, upstream_secret, upstream_authenticator)
        attributes.append((code, value))
    if request.has(rp.CHAP_PASSWORD) and not request.has(rp.CHAP_CHALLENGE):
        # RFC 2865 section 2.2: without CHAP-Challenge the Request Authenticator is the
        # challenge; the new one is not, so pass the old one on explicitly.
        attributes.append((rp.CHAP_CHALLENGE, request.authenticator))
    return [*rp.with_message_authenticator(attributes), (rp.PROXY_STATE, proxy_state)]


def strip_proxy_state(attributes: Sequence[rp.Attribute], proxy_state: bytes) -> list[rp.Attribute]:
    """The reply's attributes without the last Proxy-State if it is ours; the switch's
    own Proxy-States stay, in order."""
    result = list(attributes)
    for index in range(len(result) - 1, -1, -1):
        code, value = result[index]
        if code == rp.PROXY_STATE:
            if value == proxy_state:
                del result[index]
            break
    return result


def relay_reply(
    reply: rp.RadiusPacket,
    request: rp.RadiusPacket,
    *,
    client_secret: bytes,
    upstream_secret: bytes,
    upstream_authenticator: bytes,
    proxy_state: bytes,
) -> bytes:
    """The upstream's (verified) reply re-signed for the switch: its identifier and
    authenticator, its secret, hidden values re-encrypted, and a Message-Authenticator
    on every Access reply (the BlastRADIUS advisory asks for one)."""
    attributes = strip_proxy_state(reply.attributes, proxy_state)
    attributes = rp.rehide_reply_attributes(
        attributes,
        from_secret=upstream_secret,
        from_vector=upstream_authenticator,
        to_secret=client_secret,
        to_vector=request.authenticator,
    )
    if reply.code in _ACCESS_REPLIES:
        attributes = list(rp.with_message_authenticator(attributes))
    return rp.sign_reply(
        reply.code, request.identifier, attributes, request.authenticator, client_secret
    )


def quarantine_reject(request: rp.RadiusPacket, secret: bytes) -> bytes:
    """The proxy's own Access-Reject for a quarantined host, with the switch's
    Proxy-States copied unmodified (RFC 2865 section 5.33)."""
    attributes: list[rp.Attribute] = [
        (rp.MESSAGE_AUTHENTICATOR, rp.ZERO_VECTOR),
        (rp.REPLY_MESSAGE, REJECT_MESSAGE.encode()),
        *((rp.PROXY_STATE, value) for value in request.values(rp.PROXY_STATE)),
    ]
    return rp.sign_reply(
        rp.ACCESS_REJECT, request.identifier, attributes, request.authenticator, secret
    )
