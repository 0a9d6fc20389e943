"""The switch-disconnect action: an RFC 5176 Disconnect-Request (or CoA-Request) to the
switch that holds the host's session, so the switch drops the host off its port; when
the host authenticates again, the RADIUS proxy rejects it while it is quarantined.

Which switch and session: the RADIUS proxy's session table (``services.radius_sessions``)
by the host's MAC, else by its framed address, else by its user; the switch is where its
RADIUS packets came from. Without a session, a fixed ``switch`` may be configured, and
the request then names the host by MAC (and user) alone.

The request names the session the way RFC 5176 section 3 asks: NAS identification
(NAS-IP-Address / NAS-Identifier) and session identification (User-Name,
Calling-Station-Id as the switch wrote it, Acct-Session-Id), plus Event-Timestamp
(section 3.1, replay protection) and a Message-Authenticator. ``identify_by`` narrows
that for switches that refuse attributes they do not use (Error-Cause 401).

Answers: ACK is success; NAK fails with its Error-Cause (not retried: the switch said
no); silence fails and may be retried. At the response's timeout there is nothing to
undo at the switch (the host comes back by itself once the proxy stops rejecting it),
unless ``release_attributes`` are set: then a CoA-Request with them restores the port
(a VLAN, a filter).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionServices,
    ActionType,
)
from garrison.responder.actions.registry import register
from garrison.responder.radius import packets as rp
from garrison.responder.radius.proxy import ClientTable
from garrison.responder.radius.sessions import RadiusSession, normalize_mac, rfc3580_mac
from garrison.responder.templates import render

# RFC 5176 section 3 (and its IANA registration): the Dynamic Authorization Server
# listens for Disconnect-Request and CoA-Request on UDP port 3799. The port catalog has
# no row for it (it is not in the SMS's port reference), hence a constant here.
DYNAMIC_AUTHORIZATION_PORT = 3799

# RFC 5176 section 3.6, Error-Cause values.
ERROR_CAUSES = {
    201: "Residual Session Context Removed",
    202: "Invalid EAP Packet (Ignored)",
    401: "Unsupported Attribute",
    402: "Missing Attribute",
    403: "NAS Identification Mismatch",
    404: "Invalid Request",
    405: "Unsupported Service",
    406: "Unsupported Extension",
    407: "Invalid Attribute Value",
    501: "Administratively Prohibited",
    502: "Request Not Routable (Proxy)",
    503: "Session Context Not Found",
    504: "Session Context Not Removable",
    505: "Other Proxy Processing Error",
    506: "Resources Unavailable",
    507: "Request Initiated",
    508: "Multiple Session Selection Unsupported",
}

# How many times the request goes out within ``timeout_seconds`` (same bytes each time,
# RFC 5176 section 2.3 leaves retransmission to the client as in RFC 2865).
TRANSMISSIONS = 3

Identifier = Literal["nas", "user", "mac", "session_id", "nas_port", "framed_ip"]


class SwitchDisconnectConfig(ActionConfig):
    TEMPLATES: ClassVar[tuple[str, ...]] = ("attributes", "release_attributes")

    mode: Literal["disconnect", "coa"] = Field(
        "disconnect", description="Disconnect-Request, or a CoA-Request with `attributes`"
    )
    port: int = Field(DYNAMIC_AUTHORIZATION_PORT, ge=1, le=65535)
    secret: str = Field(
        "", repr=False, description="the switch's secret; empty: its [radius_proxy] client secret"
    )
    switch: str = Field("", description="the switch's address when no session is known")
    timeout_seconds: float = Field(5.0, gt=0, le=120)
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description="extra attributes by dictionary name, e.g. Filter-Id or "
        "Tunnel-Private-Group-Id:1; values may use template fields",
    )
    release_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="at the response's timeout, a CoA-Request with these attributes; "
        "empty: nothing is sent (the host re-authenticates by itself)",
    )
    identify_by: list[Identifier] = Field(
        default_factory=lambda: ["nas", "user", "mac", "session_id"],
        min_length=1,
        description="which session attributes the request names",
    )

    @field_validator("switch")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address") from None
        return value

    @field_validator("attributes", "release_attributes")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            base, _, tag = name.partition(":")
            if not base or not all(c.isalnum() or c in "-_." for c in base):
                raise ValueError(f"{name!r} is not a RADIUS attribute name")
            if tag and not (tag.isdigit() and int(tag) <= 31):
                raise ValueError(f"{name!r}: a tag is a number 0..31")
        return value


@dataclass(frozen=True, slots=True)
class Target:
    """Where the request goes and what it names."""

    switch: str
    session: RadiusSession | None
    mac: str
    user: str

    @property
    def host(self) -> str:
        return f"MAC {self.mac}" if self.mac else f"user {self.user!r}"


@register
class SwitchDisconnectAction(ActionType[SwitchDisconnectConfig]):
    kind = "switch-disconnect"
    title = "Disconnect the host's session at its switch (RADIUS Disconnect or CoA, RFC 5176)"
    config_type = SwitchDisconnectConfig

    def __init__(self, config: SwitchDisconnectConfig, services: ActionServices) -> None:
        super().__init__(config, services)
        self._clients = ClientTable(services.settings.radius_proxy.clients)

    async def run(self, context: ActionContext) -> ActionResult:
        if context.phase == "timeout":
            if not self.config.release_attributes:
                return ActionResult(
                    detail="nothing to undo at the switch: the host re-authenticates by "
                    "itself and the RADIUS proxy no longer rejects it"
                )
            return await self._send(context, rp.COA_REQUEST, self.config.release_attributes)
        code = rp.DISCONNECT_REQUEST if self.config.mode == "disconnect" else rp.COA_REQUEST
        return await self._send(context, code, self.config.attributes)

    def _target(self, context: ActionContext) -> Target:
        sessions = self.services.radius_sessions
        session: RadiusSession | None = None
        if sessions is not None:
            session = sessions.find(mac=context.mac, address=context.address, user=context.user)
        mac = normalize_mac(context.mac) or (session.mac if session else "")
        user = context.user or (session.user if session else "")
        if session is not None:
            return Target(session.switch, session, mac, user)
        if not self.config.switch:
            known = ", ".join(
                f"{what} {value}"
                for what, value in (
                    ("MAC", context.mac),
                    ("address", context.address),
                    ("user", context.user),
                )
                if value
            )
            where = "no RADIUS proxy runs" if sessions is None else "no RADIUS session is known"
            raise ActionFailed(
                f"cannot find the host's switch: {where} for {known or 'the host'}, "
                "and no fixed `switch` is configured",
                retryable=False,
            )
        if not mac and not user:
            raise ActionFailed(
                f"no MAC or user known for {context.address or 'the host'} to name at switch "
                f"{self.config.switch}: the response has none and no RADIUS session matches",
                retryable=False,
            )
        return Target(self.config.switch, None, mac, user)

    def _secret(self, switch: str) -> bytes:
        if self.config.secret:
            return self.config.secret.encode("utf-8")
        secret = self._clients.secret_for(switch)
        if secret is None:
            raise ActionFailed(
                f"no secret for switch {switch}: set the action's `secret` or list the switch "
                "in [radius_proxy] clients",
                retryable=False,
            )
        return secret

    def _attributes(
        self, target: Target, extra: Mapping[str, str], context: ActionContext
    ) -> list[rp.Attribute]:
        wanted = set(self.config.identify_by)
        session = target.session
        attributes: list[rp.Attribute] = [(rp.MESSAGE_AUTHENTICATOR, rp.ZERO_VECTOR)]
        if "nas" in wanted and session is not None:
            if session.nas_address:
                ip = ipaddress.ip_address(session.nas_address)
                code = rp.NAS_IP_ADDRESS if ip.version == 4 else rp.NAS_IPV6_ADDRESS
                attributes.append((code, ip.packed))
            if session.nas_identifier:
                attributes.append((rp.NAS_IDENTIFIER, session.nas_identifier.encode()))
        if "user" in wanted and target.user:
            attributes.append((rp.USER_NAME, target.user.encode()))
        if "mac" in wanted and target.mac:
            calling = (session.calling_station_id if session else "") or rfc3580_mac(target.mac)
            attributes.append((rp.CALLING_STATION_ID, calling.encode()))
        if session is not None:
            if "session_id" in wanted and session.session_id:
                attributes.append((rp.ACCT_SESSION_ID, session.session_id.encode()))
            if "nas_port" in wanted and session.nas_port is not None:
                attributes.append((rp.NAS_PORT, session.nas_port.to_bytes(4, "big")))
            if "framed_ip" in wanted and session.framed_ip:
                ip = ipaddress.ip_address(session.framed_ip)
                if ip.version == 4:
                    attributes.append((rp.FRAMED_IP_ADDRESS, ip.packed))
        if len(attributes) == 1:
            raise ActionFailed(
                f"nothing to name the session by at {target.switch}: identify_by "
                f"{self.config.identify_by} matches no known attribute of {target.host}",
                retryable=False,
            )
        attributes.append((rp.EVENT_TIMESTAMP, int(time.time()).to_bytes(4, "big")))
        if extra:
            values = context.values()
            rendered = {name: render(value, values) for name, value in extra.items()}
            try:
                dictionary = rp.load_dictionary(self.services.settings.radius_proxy.dictionary)
                attributes.extend(rp.encode_named(dictionary, rendered))
            except ValueError as exc:  # an unknown name, a value that does not fit
                raise ActionFailed(str(exc), retryable=False) from None
        return attributes

    async def _send(
        self, context: ActionContext, code: int, extra: Mapping[str, str]
    ) -> ActionResult:
        target = self._target(context)
        secret = self._secret(target.switch)
        attributes = self._attributes(target, extra, context)
        request = rp.RadiusPacket(code, _identifier(), rp.ZERO_VECTOR, tuple(attributes))
        raw = rp.sign_request(request, secret)
        where = _where(target.switch, self.config.port)
        name = rp.CODE_NAMES[code]
        reply = await exchange(
            target.switch, self.config.port, raw, secret, timeout=self.config.timeout_seconds
        )
        if reply is None:
            raise ActionFailed(
                f"no answer from switch {where} to the {name} for {target.host} within "
                f"{self.config.timeout_seconds:g} s",
                retryable=True,
            )
        data = {
            "switch": where,
            "mac": target.mac,
            "user": target.user,
            "session_id": target.session.session_id if target.session else "",
        }
        if reply.code in (rp.DISCONNECT_ACK, rp.COA_ACK):
            return ActionResult(
                detail=f"{reply.name} from switch {where} for {target.host}", data=data
            )
        cause = reply.integer(rp.ERROR_CAUSE)
        why = error_cause_text(cause) if cause is not None else "no Error-Cause given"
        raise ActionFailed(
            f"{reply.name} from switch {where} for {target.host}: {why}", retryable=False
        )


def error_cause_text(cause: int) -> str:
    return f"{cause} {ERROR_CAUSES.get(cause, 'unknown Error-Cause')}"


def _identifier() -> int:
    return int.from_bytes(rp.new_authenticator()[:1], "big")


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_REPLIES = {
    rp.DISCONNECT_REQUEST: (rp.DISCONNECT_ACK, rp.DISCONNECT_NAK),
    rp.COA_REQUEST: (rp.COA_ACK, rp.COA_NAK),
}


class _Replies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error: the request simply gets no answer


async def exchange(
    host: str, port: int, raw: bytes, secret: bytes, *, timeout: float
) -> rp.RadiusPacket | None:
    """Send a signed Disconnect- or CoA-Request and return the switch's verified answer,
    or None when none came within ``timeout``. Datagrams that are not a valid answer
    (garbage, another id, a wrong authenticator) are ignored, as RFC 5176 asks."""
    request = rp.decode(raw)
    expected = _REPLIES[request.code]
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            _Replies, remote_addr=(host, port)
        )
    except OSError as exc:
        raise ActionFailed(f"cannot send to switch {_where(host, port)}: {exc}") from None
    deadline = loop.time() + timeout
    interval = timeout / TRANSMISSIONS
    try:
        next_send = loop.time()
        while True:
            now = loop.time()
            if now >= deadline:
                return None
            if now >= next_send:
                transport.sendto(raw)
                next_send = now + interval
            try:
                data = await asyncio.wait_for(protocol.queue.get(), min(deadline, next_send) - now)
            except TimeoutError:
                continue
            try:
                reply = rp.decode(data)
            except rp.MalformedPacket:
                continue
            if (
                reply.identifier == request.identifier
                and reply.code in expected
                and rp.verify_reply(reply, request.authenticator, secret)
            ):
                return reply
    finally:
        transport.close()


__all__ = [
    "DYNAMIC_AUTHORIZATION_PORT",
    "ERROR_CAUSES",
    "SwitchDisconnectAction",
    "SwitchDisconnectConfig",
    "error_cause_text",
    "exchange",
]
