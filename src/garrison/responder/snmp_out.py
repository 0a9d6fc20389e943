"""Sending SNMP notifications (traps and informs) from the Responder, v2c or v3, over
pysnmp's asyncio engine. The SNMP-trap and NMS-trap actions and the threshold
notification all send through here.

What "sent" means:

* A **trap** is unacknowledged: success only says the datagram left this host. A manager
  that is down or listening elsewhere is not noticed; use an inform where that matters.
* An **inform** is acknowledged: the receiver answers, and no answer within the time
  limit (after the retries) is a failure.

SNMPv3 is authPriv only. Authentication: the SHA family (SHA-1 and SHA-2), or MD5, which
is allowed for old managers but is weak (broken as a hash; HMAC-MD5 survives, barely) and
should not be chosen for anything new. Privacy: AES-128, and AES-192/AES-256 with the key
extension net-snmp uses; DES is not offered. For a v3 **trap** the sender is the
authoritative engine, so the receiver localizes the user's keys to the sender's engine id:
``engine_id`` must be the id the receiver was configured with (snmptrapd's
``createUser -e``); left empty, a random one is used, which only a receiver that learns
engines accepts. For a v3 **inform** the receiver is authoritative and its engine id is
discovered; ``engine_id`` does not matter.

pysnmp engines are costly to make (tens of milliseconds) and keep a socket, so a
:class:`TrapSender` keeps one engine per distinct set of credentials (pysnmp keys its user
table by user name, so two targets with one user name and different keys must not share
an engine) and closes them in :meth:`TrapSender.close`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pyasn1.type.base import Asn1Item
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UsmUserData,
    send_notification,
)
from pysnmp.proto import errind
from pysnmp.proto import rfc1902 as smi

from garrison import ports
from garrison.collectors.snmp_trap.messages import SNMP_TRAP_OID, SYS_UPTIME
from garrison.collectors.snmp_trap.messages import IpAddress as IpAddressValue
from garrison.collectors.snmp_trap.messages import Oid as OidValue
from garrison.responder.actions.base import ActionFailed
from garrison.snmp.credentials import (
    REFUSED_CREDENTIALS,
    auth_data,
    credentials_key,
    transport_kind,
)
from garrison.snmp.engines import EnginePool

DEFAULT_PORT = ports.get("responder-snmp").port
# The protocols offered for outbound v3 (see the module docstring for why not DES).
AuthProtocol = Literal["SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "MD5"]
PrivProtocol = Literal["AES", "AES-192", "AES-256"]

# Credentials the receiver refused: another attempt with the same ones cannot help.
_REFUSED = (*REFUSED_CREDENTIALS, errind.UnknownEngineID)
INTEGER32 = (-(2**31), 2**31 - 1)
FLUSH_TIMEOUT = 5.0  # seconds for a new engine's socket to open
# sysUpTime.0 of our notifications: hundredths of a second since this module loaded.
_STARTED = time.monotonic()

# A varbind value: int (Integer32), str (UTF-8 OctetString), bytes (OctetString),
# ``messages.IpAddress`` / ``ipaddress.IPv4Address`` (IpAddress), ``messages.Oid``
# (OBJECT IDENTIFIER), or a pysnmp value as it is.
Value = int | str | bytes | ipaddress.IPv4Address | Asn1Item
Varbind = tuple[str, Value]


@dataclass(frozen=True, slots=True)
class TrapTarget:
    """Where a notification goes and with which credentials. Secrets stay out of
    ``repr`` (and so out of logs and errors)."""

    host: str
    port: int = DEFAULT_PORT
    version: Literal["2c", "3"] = "2c"
    community: str = field(default="public", repr=False)
    user: str = ""
    auth_protocol: AuthProtocol = "SHA-256"
    auth_key: str = field(default="", repr=False)
    priv_protocol: PrivProtocol = "AES"
    priv_key: str = field(default="", repr=False)
    engine_id: str = ""  # hex, with or without 0x; v3 traps only (see module docstring)
    inform: bool = False
    timeout: float = 5.0  # seconds to wait for an inform's answer, per attempt
    retries: int = 1  # inform resends after the first attempt

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def engine_id_hex(self) -> str:
        return self.engine_id.lower().removeprefix("0x")

    def engine_key(self) -> tuple[str, ...]:
        """Targets with the same key may share a pysnmp engine: a v3 trap's engine id is
        part of what the receiver checks, so it is part of the key."""
        if self.version == "3":
            return (*credentials_key(self), self.engine_id_hex)
        return credentials_key(self)

    def auth_data(self) -> CommunityData | UsmUserData:
        return auth_data(self)


class TrapDestination(BaseModel):
    """The settings of a notification's destination, as actions and policies write them;
    :meth:`target` turns them into a :class:`TrapTarget`. Subclasses set ``port``'s
    default from their own catalog entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253, description="the manager's address or name")
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    version: Literal["2c", "3"] = "2c"
    community: str = Field("public", max_length=255, repr=False, description="v2c only")
    user: str = Field("", max_length=32, description="v3 USM user")
    auth_protocol: AuthProtocol = Field(
        "SHA-256", description="v3; MD5 is accepted for old managers but is weak"
    )
    auth_key: str = Field("", repr=False, description="v3 authentication passphrase")
    priv_protocol: PrivProtocol = "AES"
    priv_key: str = Field("", repr=False, description="v3 privacy passphrase")
    engine_id: str = Field(
        "",
        pattern=r"^$|^(0x)?([0-9a-fA-F]{2}){5,32}$",
        description="v3 traps: our snmpEngineID as the receiver knows it (hex); "
        "empty: a random one",
    )
    inform: bool = Field(False, description="send an acknowledged inform instead of a trap")
    timeout_seconds: float = Field(5.0, gt=0, le=60, description="inform: wait per attempt")
    retries: int = Field(1, ge=0, le=5, description="inform: resends after the first")

    @model_validator(mode="after")
    def _credentials(self) -> TrapDestination:
        if self.version == "2c" and not self.community:
            raise ValueError("SNMP v2c needs a community")
        if self.version == "3":
            if not self.user:
                raise ValueError("SNMP v3 needs a user")
            # RFC 3414 §11.2 and net-snmp: passphrases shorter than 8 are refused.
            if len(self.auth_key) < 8 or len(self.priv_key) < 8:
                raise ValueError("SNMP v3 auth_key and priv_key need at least 8 characters")
        return self

    def target(self) -> TrapTarget:
        return TrapTarget(
            host=self.host,
            port=self.port,
            version=self.version,
            community=self.community,
            user=self.user,
            auth_protocol=self.auth_protocol,
            auth_key=self.auth_key,
            priv_protocol=self.priv_protocol,
            priv_key=self.priv_key,
            engine_id=self.engine_id,
            inform=self.inform,
            timeout=self.timeout_seconds,
            retries=self.retries,
        )


def snmp_value(value: Value) -> Asn1Item:
    """A varbind value as its SNMP type; ``ValueError`` for one SNMP cannot carry."""
    if isinstance(value, Asn1Item):
        return value
    if isinstance(value, bool):  # an int subclass, but surely a mistake here
        raise ValueError("a bool is not an SNMP value; send 1/2 or text")
    if isinstance(value, int):
        if not INTEGER32[0] <= value <= INTEGER32[1]:
            raise ValueError(f"{value} does not fit an Integer32")
        return smi.Integer32(value)
    if isinstance(value, IpAddressValue | ipaddress.IPv4Address):
        return smi.IpAddress(str(value))
    if isinstance(value, OidValue):
        return smi.ObjectIdentifier(str(value))
    if isinstance(value, str):
        return smi.OctetString(value.encode("utf-8"))
    if isinstance(value, bytes):
        return smi.OctetString(value)
    raise ValueError(f"{type(value).__name__} is not an SNMP value")


def _uptime() -> smi.TimeTicks:
    return smi.TimeTicks(int((time.monotonic() - _STARTED) * 100) % 2**32)


class TrapSender:
    """Sends notifications, keeping one pysnmp engine per set of credentials."""

    def __init__(self) -> None:
        self._engines = EnginePool()

    def _engine_for(self, target: TrapTarget) -> SnmpEngine:
        def make() -> SnmpEngine:
            if target.version == "3" and target.engine_id:
                return SnmpEngine(smi.OctetString(hexValue=target.engine_id_hex))
            return SnmpEngine()

        return self._engines.get(target.engine_key(), make)

    async def send(self, target: TrapTarget, trap_oid: str, varbinds: Sequence[Varbind]) -> None:
        """Send one trap or inform; :class:`ActionFailed` says why it could not be."""
        try:
            objects = [
                ObjectType(ObjectIdentity(SYS_UPTIME), _uptime()),
                ObjectType(ObjectIdentity(SNMP_TRAP_OID), smi.ObjectIdentifier(trap_oid)),
                *(ObjectType(ObjectIdentity(oid), snmp_value(value)) for oid, value in varbinds),
            ]
        except Exception as exc:  # pyasn1 refuses a malformed OID with several kinds
            raise ActionFailed(f"cannot build the notification: {exc}", retryable=False) from None
        try:
            # pysnmp counts attempts after the first as retries, and a trap waits for none.
            transport = await transport_kind(target.host).create(
                (target.host, target.port),
                timeout=target.timeout,
                retries=target.retries if target.inform else 0,
            )
        except Exception as exc:  # an unresolvable name, an address the socket refuses
            raise ActionFailed(f"cannot send to {target.where}: {exc}") from None
        try:
            engine = self._engine_for(target)
        except Exception as exc:  # an engine id pysnmp refuses
            raise ActionFailed(
                f"cannot set up SNMP for {target.where}: {exc}", retryable=False
            ) from None
        notify = "inform" if target.inform else "trap"
        try:
            indication, status, index, _ = await send_notification(
                engine,
                target.auth_data(),
                transport,
                ContextData(),
                notify,
                *objects,
                lookupMib=False,
            )
        except Exception as exc:  # pysnmp raises on sockets it cannot use
            raise ActionFailed(f"{notify} to {target.where} failed: {exc}") from None
        if indication:
            _raise_for(indication, target)
        if not target.inform:
            await _flushed(engine, transport, target)
        if status:
            raise ActionFailed(
                f"{target.where} answered the inform with error {status.prettyPrint()} "
                f"at varbind {int(index)}"
            )

    def close(self) -> None:
        self._engines.close()


async def _flushed(engine: SnmpEngine, transport: Any, target: TrapTarget) -> None:
    """Wait until a trap has really left. pysnmp opens an engine's socket in a task and
    queues what is sent before it is open, while ``send_notification`` returns for a trap
    at once; a caller that closes the engine right after would lose the trap. (pysnmp
    has no public call for this, so its datagram transport's queue is read.)"""
    domain, _ = transport.get_transport_info()
    carrier = engine.transport_dispatcher.get_transport(domain)
    opening = getattr(carrier, "_lport", None)
    if opening is not None and not opening.done():
        try:
            await asyncio.wait_for(asyncio.shield(opening), FLUSH_TIMEOUT)
        except TimeoutError:
            raise ActionFailed(f"the socket for {target.where} did not open") from None
        except Exception as exc:
            raise ActionFailed(f"cannot send to {target.where}: {exc}") from None
    if getattr(carrier, "_writeQ", None):
        # The endpoint opened but its queue was not written: the socket refused it.
        raise ActionFailed(f"the trap to {target.where} could not be written")


def _raise_for(indication: Any, target: TrapTarget) -> None:
    if isinstance(indication, errind.RequestTimedOut):
        attempts = target.retries + 1
        raise ActionFailed(
            f"no acknowledgement from {target.where} to the inform "
            f"({attempts} attempt{'s' if attempts > 1 else ''} of {target.timeout:g} s)"
        )
    if isinstance(indication, _REFUSED):
        raise ActionFailed(
            f"{target.where} refused the SNMP credentials: {indication}", retryable=False
        )
    raise ActionFailed(f"notification to {target.where} failed: {indication}")


async def send_trap(target: TrapTarget, trap_oid: str, varbinds: Sequence[Varbind]) -> None:
    """Send one notification with an engine of its own (made and closed here). Callers
    that send often keep a :class:`TrapSender` instead."""
    sender = TrapSender()
    try:
        await sender.send(target, trap_oid, varbinds)
    finally:
        sender.close()
