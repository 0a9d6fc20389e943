"""SNMP reads for the poller: one GET of scalars, GETBULK walks of table columns, v2c or
v3 (authPriv), over pysnmp's asyncio engine.

One `SnmpClient` holds one SNMP engine (and UDP socket) for every v2c device, so polling a
large fleet opens no socket per device. SNMPv3 gets one engine per distinct set of v3
credentials: pysnmp keys its user table by user name, so two devices with the same user
name and different keys would overwrite each other's keys inside one engine. Values come
back as plain ``int`` or ``str``; objects the agent does not have are simply absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UsmUserData,
    bulk_cmd,
    get_cmd,
)
from pysnmp.proto import errind
from pysnmp.proto.rfc1902 import Integer, ObjectIdentifier, OctetString
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from garrison.snmp.credentials import (
    REFUSED_CREDENTIALS,
    auth_data,
    credentials_key,
    transport_kind,
)
from garrison.snmp.engines import EnginePool
from garrison.store.devices import DeviceRecord

# Error indications that mean "wrong credentials" rather than "no answer"; an agent that
# finds our clock outside its time window refuses too.
AUTH_ERRORS = (*REFUSED_CREDENTIALS, errind.NotInTimeWindow)
MAX_REPETITIONS = 16
MAX_WALK_ROUNDS = 64  # bounds a walk of a broken or huge agent
MAX_KEPT_OBJECTS = 1024


class PollError(Exception):
    """A read that failed; ``reason`` is one of timeout, auth, decode, error."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where and how to ask. Secrets stay out of ``repr``."""

    address: str
    port: int = 161
    version: str = "2c"
    community: str = field(default="", repr=False)
    user: str = ""
    auth_protocol: str = "SHA-256"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "AES"
    priv_key: str = field(default="", repr=False)

    @classmethod
    def of(cls, device: DeviceRecord) -> SnmpTarget:
        return cls(
            address=device.address,
            port=device.snmp_port,
            version=device.snmp_version,
            community=device.snmp_community,
            user=device.snmp_user,
            auth_protocol=device.snmp_auth_protocol or "SHA-256",
            auth_key=device.snmp_auth_key,
            priv_protocol=device.snmp_priv_protocol or "AES",
            priv_key=device.snmp_priv_key,
        )

    def engine_key(self) -> tuple[str, ...]:
        """Targets with the same key may share an SNMP engine."""
        return credentials_key(self)

    def auth_data(self) -> CommunityData | UsmUserData:
        return auth_data(self)


def plain(value: Any) -> int | str | None:
    """A pysnmp value as int or str; None for "no such object" and end of view."""
    if isinstance(value, (NoSuchObject, NoSuchInstance, EndOfMibView)):
        return None
    if isinstance(value, ObjectIdentifier):
        return str(value)
    if isinstance(value, OctetString):
        text = bytes(value).decode("utf-8", errors="replace")
        return text.replace("\x00", "")
    if isinstance(value, Integer) or hasattr(value, "__int__"):
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    return value.prettyPrint() if hasattr(value, "prettyPrint") else str(value)


def _raise_for(indication: Any, target: SnmpTarget) -> None:
    where = f"{target.address}:{target.port}"
    if isinstance(indication, errind.RequestTimedOut):
        raise PollError("timeout", f"no answer from {where}")
    if isinstance(indication, AUTH_ERRORS):
        raise PollError("auth", f"{where} refused the credentials: {indication}")
    if isinstance(indication, (errind.SerializationError, errind.DeserializationError)):
        raise PollError("decode", f"{where}: {indication}")
    raise PollError("error", f"{where}: {indication}")


class SnmpClient:
    def __init__(self, *, timeout: float, retries: int) -> None:
        self.timeout = timeout
        self.retries = retries
        # Transport targets are kept per address: making one resolves the address in a
        # thread, which a large fleet should not pay on every poll.
        self._transports: dict[tuple[str, int], Any] = {}
        self._engines = EnginePool(on_reset=self._transports.clear)
        # Requests name the same few OIDs over and over; an ObjectType resolved once (an
        # OID lookup of a few milliseconds) is reused, which keeps each request's share
        # of the event loop small when hundreds of devices are polled at once.
        self._object_types: dict[str, ObjectType] = {}

    def _objects(self, oids: Sequence[str], *, keep: bool) -> list[ObjectType]:
        out = []
        for oid in oids:
            found = self._object_types.get(oid)
            if found is None:
                found = ObjectType(ObjectIdentity(oid))
                if keep and len(self._object_types) < MAX_KEPT_OBJECTS:
                    self._object_types[oid] = found
            out.append(found)
        return out

    def _engine_for(self, target: SnmpTarget) -> SnmpEngine:
        return self._engines.get(target.engine_key())

    async def _transport(self, target: SnmpTarget) -> Any:
        key = (target.address, target.port)
        transport = self._transports.get(key)
        if transport is None:
            try:
                transport = await transport_kind(target.address).create(
                    (target.address, target.port), timeout=self.timeout, retries=self.retries
                )
            except Exception as exc:  # an address the resolver or socket layer refuses
                raise PollError("error", f"{target.address}:{target.port}: {exc}") from None
            self._transports[key] = transport
        return transport

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> dict[str, int | str]:
        """One GET of ``oids``; absent objects are left out of the answer."""
        engine = self._engine_for(target)
        transport = await self._transport(target)
        try:
            indication, status, _index, var_binds = await get_cmd(
                engine,
                target.auth_data(),
                transport,
                ContextData(),
                *self._objects(oids, keep=True),
                lookupMib=False,
            )
        except PollError:
            raise
        except Exception as exc:  # pysnmp raises on sockets it cannot use, odd replies
            raise PollError("error", f"{target.address}:{target.port}: {exc}") from None
        if indication:
            _raise_for(indication, target)
        if status:
            raise PollError("error", f"{target.address}:{target.port}: {status.prettyPrint()}")
        out: dict[str, int | str] = {}
        for oid, value in var_binds:
            converted = plain(value)
            if converted is not None:
                out[str(oid)] = converted
        return out

    async def walk_columns(
        self, target: SnmpTarget, columns: Sequence[str]
    ) -> dict[str, dict[str, int | str]]:
        """Walk several table columns side by side with GETBULK; each column's rows come
        back keyed by their index (the OID after the column). A column the agent lacks
        is empty."""
        engine = self._engine_for(target)
        transport = await self._transport(target)
        rows: dict[str, dict[str, int | str]] = {c: {} for c in columns}
        cursor = {c: c for c in columns}
        active = list(columns)
        for round_number in range(MAX_WALK_ROUNDS):
            if not active:
                break
            try:
                indication, status, _index, var_binds = await bulk_cmd(
                    engine,
                    target.auth_data(),
                    transport,
                    ContextData(),
                    0,
                    MAX_REPETITIONS,
                    *self._objects([cursor[c] for c in active], keep=round_number == 0),
                    lookupMib=False,
                )
            except Exception as exc:
                raise PollError("error", f"{target.address}:{target.port}: {exc}") from None
            if indication:
                _raise_for(indication, target)
            if status or not var_binds:
                break  # keep what we have: a partial table is better than none
            finished: set[str] = set()
            advanced: set[str] = set()
            width = len(active)
            for position, (oid, value) in enumerate(var_binds):
                column = active[position % width]
                if column in finished:
                    continue
                text = str(oid)
                if isinstance(value, EndOfMibView) or not text.startswith(column + "."):
                    finished.add(column)
                    continue
                if text == cursor[column]:
                    continue
                converted = plain(value)
                if converted is not None:
                    rows[column][text[len(column) + 1 :]] = converted
                cursor[column] = text
                advanced.add(column)
            # A column that did not move forward would loop for ever: stop it.
            active = [c for c in active if c not in finished and c in advanced]
        return rows

    def close(self) -> None:
        self._engines.close()
        self._transports.clear()
