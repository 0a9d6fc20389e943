"""One device's SNMP engine on one UDP socket: answers GET/GETNEXT/GETBULK (v2c and v3 USM)
and sends that device's notifications from the same socket, as a real agent does.

A hand-written engine rather than pysnmp's: a pysnmp SnmpEngine per device costs ~50 ms and
several MB, and a fleet of hundreds of devices must start in seconds in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time

from ipsim import ber, snmp_message, usm
from ipsim.ber import Oid, Value
from ipsim.mib import MibView
from ipsim.snmp_message import (
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    Pdu,
    V3Message,
)

log = logging.getLogger("ipsim.snmp")

TIME_WINDOW = 150  # seconds, RFC 3414 section 3.2 step 7
MAX_BULK_REPETITIONS = 64
V2C_MAX_RESPONSE = 65000
RESPONSE_OVERHEAD = 160  # header room left when filling a GETBULK response


class SnmpAgent(asyncio.DatagramProtocol):
    def __init__(
        self,
        *,
        engine_id: bytes,
        mib: MibView,
        community: str | None,
        users: list[usm.UsmUser],
        boots: int = 1,
    ) -> None:
        self.engine_id = engine_id
        self.mib = mib
        self.community = community.encode() if community else None
        self.users = {u.name.encode(): u for u in users}
        self.boots = boots
        self.started = time.monotonic()
        self.transport: asyncio.DatagramTransport | None = None
        self._salt = int.from_bytes(os.urandom(8), "big")
        self._request_id = secrets.randbelow(2**30)
        self.usm_stats = {
            "unknown_engine_ids": 0,
            "unknown_user_names": 0,
            "wrong_digests": 0,
            "not_in_time_windows": 0,
            "decryption_errors": 0,
            "unsupported_sec_levels": 0,
        }
        self.requests = 0

    # --- asyncio plumbing --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = self.handle(data)
        except (ber.BerError, ValueError, IndexError) as exc:
            # A malformed datagram is dropped, as RFC 3412 asks (snmpInASNParseErrs).
            log.debug("dropped malformed SNMP datagram from %s: %s", addr, exc)
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def engine_time(self) -> int:
        return int(time.monotonic() - self.started)

    def next_salt(self) -> bytes:
        self._salt = (self._salt + 1) % 2**64
        return self._salt.to_bytes(8, "big")

    def next_request_id(self) -> int:
        self._request_id = (self._request_id + 1) % 2**31
        return self._request_id

    # --- requests ----------------------------------------------------------------------------

    def handle(self, data: bytes) -> bytes | None:
        version = snmp_message.message_version(data)
        if version == snmp_message.VERSION_3:
            return self._handle_v3(data)
        if version == snmp_message.VERSION_2C:
            return self._handle_community(data)
        return None  # SNMPv1 is not offered (TippingPoint devices speak v2c and v3)

    def _handle_community(self, data: bytes) -> bytes | None:
        version, community, pdu = snmp_message.decode_community(data)
        if self.community is None or not secrets.compare_digest(community, self.community):
            return None  # wrong community: silence, like net-snmp
        response = self.respond(pdu, V2C_MAX_RESPONSE)
        if response is None:
            return None
        return snmp_message.encode_community(version, community, response)

    def _handle_v3(self, data: bytes) -> bytes | None:
        msg = snmp_message.decode_v3(data)
        if msg.security_model != snmp_message.USM_SECURITY_MODEL:
            return None
        level = msg.flags & (FLAG_AUTH | FLAG_PRIV)
        if level == FLAG_PRIV:
            return None  # priv without auth is an invalid combination
        # Discovery (RFC 3414 4): an unknown engine ID is answered with our engine ID and clock.
        if msg.engine_id != self.engine_id:
            self.usm_stats["unknown_engine_ids"] += 1
            return self._report(
                msg, snmp_message.USM_STATS_UNKNOWN_ENGINE_IDS, "unknown_engine_ids", None
            )
        user = self.users.get(msg.user)
        if user is None:
            self.usm_stats["unknown_user_names"] += 1
            return self._report(
                msg, snmp_message.USM_STATS_UNKNOWN_USER_NAMES, "unknown_user_names", None
            )
        if level != (FLAG_AUTH | FLAG_PRIV):
            # This agent's users are authPriv only: a weaker request is refused.
            self.usm_stats["unsupported_sec_levels"] += 1
            return self._report(
                msg, snmp_message.USM_STATS_UNSUPPORTED_SEC_LEVELS, "unsupported_sec_levels", None
            )
        auth_key, priv_key = user.keys(self.engine_id)
        if not snmp_message.verify_digest(data, msg, user, auth_key):
            self.usm_stats["wrong_digests"] += 1
            return self._report(msg, snmp_message.USM_STATS_WRONG_DIGESTS, "wrong_digests", None)
        if msg.boots != self.boots or abs(msg.time - self.engine_time()) > TIME_WINDOW:
            self.usm_stats["not_in_time_windows"] += 1
            return self._report(
                msg, snmp_message.USM_STATS_NOT_IN_TIME_WINDOWS, "not_in_time_windows", user
            )
        try:
            if len(msg.priv_params) != 8:
                raise ValueError("AES salt must be 8 octets")
            plain = usm.decrypt(priv_key, msg.boots, msg.time, msg.priv_params, msg.scoped_pdu)
            context_engine, context_name, pdu = snmp_message.decode_scoped_pdu(plain)
        except (ber.BerError, ValueError):
            self.usm_stats["decryption_errors"] += 1
            return self._report(
                msg, snmp_message.USM_STATS_DECRYPTION_ERRORS, "decryption_errors", None
            )
        max_size = max(484, min(msg.max_size, 65507))
        response = self.respond(pdu, max_size - RESPONSE_OVERHEAD)
        if response is None:
            return None
        return snmp_message.encode_v3(
            msg_id=msg.msg_id,
            flags=FLAG_AUTH | FLAG_PRIV,
            engine_id=self.engine_id,
            boots=self.boots,
            time=self.engine_time(),
            user=user,
            user_name=msg.user,
            context_engine_id=context_engine or self.engine_id,
            context_name=context_name,
            pdu=response,
            salt=self.next_salt(),
        )

    def _report(
        self, msg: V3Message, counter_oid: Oid, counter: str, user: usm.UsmUser | None
    ) -> bytes | None:
        if not msg.flags & FLAG_REPORTABLE:
            return None
        request_id = 0
        if not msg.flags & FLAG_PRIV:
            with contextlib.suppress(ber.BerError, ValueError):
                request_id = snmp_message.decode_scoped_pdu(msg.scoped_pdu)[2].request_id
        report = Pdu(
            snmp_message.REPORT,
            request_id,
            varbinds=[(counter_oid, ber.counter32(self.usm_stats[counter]))],
        )
        # notInTimeWindow is sent authenticated so the manager can trust our clock.
        return snmp_message.encode_v3(
            msg_id=msg.msg_id,
            flags=FLAG_AUTH if user is not None else 0,
            engine_id=self.engine_id,
            boots=self.boots,
            time=self.engine_time(),
            user=user,
            user_name=msg.user,
            context_engine_id=self.engine_id,
            context_name=b"",
            pdu=report,
        )

    def respond(self, pdu: Pdu, max_size: int) -> Pdu | None:
        """The Response PDU for a GET, GETNEXT, GETBULK or SET; None for anything else."""
        self.requests += 1
        if pdu.tag == snmp_message.GET:
            varbinds = [(oid, self.mib.get(oid)) for oid, _ in pdu.varbinds]
        elif pdu.tag == snmp_message.GET_NEXT:
            varbinds = [self.mib.get_next(oid) for oid, _ in pdu.varbinds]
        elif pdu.tag == snmp_message.GET_BULK:
            varbinds = self._bulk(pdu, max_size)
        elif pdu.tag == snmp_message.SET:
            # Read-only device: notWritable on the first varbind (RFC 3416 4.2.5).
            return Pdu(
                snmp_message.RESPONSE, pdu.request_id, snmp_message.NOT_WRITABLE, 1, pdu.varbinds
            )
        else:
            return None
        response = Pdu(snmp_message.RESPONSE, pdu.request_id, varbinds=varbinds)
        if pdu.tag != snmp_message.GET_BULK and _size(varbinds) > max_size:
            return Pdu(snmp_message.RESPONSE, pdu.request_id, snmp_message.TOO_BIG, 0, [])
        return response

    def _bulk(self, pdu: Pdu, max_size: int) -> list[tuple[Oid, Value]]:
        non_repeaters = max(0, pdu.error_status)
        repetitions = max(0, min(pdu.error_index, MAX_BULK_REPETITIONS))
        out = [self.mib.get_next(oid) for oid, _ in pdu.varbinds[:non_repeaters]]
        size = _size(out)
        cursors = [oid for oid, _ in pdu.varbinds[non_repeaters:]]
        for _ in range(repetitions):
            if not cursors:
                break
            row = [self.mib.get_next(oid) for oid in cursors]
            row_size = _size(row)
            if out and size + row_size > max_size:
                break  # RFC 3416 4.2.3: return fewer repetitions rather than tooBig
            out += row
            size += row_size
            cursors = [oid for oid, _ in row]
            if all(value.tag == ber.END_OF_MIB_VIEW for _, value in row):
                break
        return out

    # --- notifications -----------------------------------------------------------------------

    def send_trap(
        self,
        target: tuple[str, int],
        trap_oid: Oid,
        varbinds: list[tuple[Oid, Value]],
        *,
        community: str | None = None,
        user: usm.UsmUser | None = None,
    ) -> bytes:
        """Send an SNMPv2-Trap (v2c with a community, or v3 authPriv with a user); return it."""
        pdu = Pdu(
            snmp_message.TRAP_V2,
            self.next_request_id(),
            varbinds=[
                (
                    snmp_message.SYS_UPTIME_0,
                    ber.timeticks(int((time.monotonic() - self.started) * 100)),
                ),
                (snmp_message.SNMP_TRAP_OID_0, ber.object_id(trap_oid)),
                *varbinds,
            ],
        )
        if user is not None:
            # For a trap the sender is the authoritative engine: our engine ID, boots and time.
            message = snmp_message.encode_v3(
                msg_id=self.next_request_id(),
                flags=FLAG_AUTH | FLAG_PRIV,
                engine_id=self.engine_id,
                boots=self.boots,
                time=self.engine_time(),
                user=user,
                user_name=user.name.encode(),
                context_engine_id=self.engine_id,
                context_name=b"",
                pdu=pdu,
                salt=self.next_salt(),
            )
        else:
            message = snmp_message.encode_community(
                snmp_message.VERSION_2C, (community or "public").encode(), pdu
            )
        if self.transport is not None:
            self.transport.sendto(message, target)
        return message


def _size(varbinds: list[tuple[Oid, Value]]) -> int:
    return len(ber.encode_varbinds(varbinds))
