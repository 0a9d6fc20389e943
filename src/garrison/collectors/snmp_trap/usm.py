"""SNMPv3 traps: the User-based Security Model (RFC 3414), with pysnmp's pieces.

v3 is not the hot path, so correctness comes from pysnmp: its ASN.1 specs parse the
message header and security parameters, its services hash and localize passphrases,
check the HMAC and decrypt. Only the decrypted scoped PDU goes through our own decoder
(``messages.decode_pdu``), which the receiver already trusts for v2c.

What is accepted, as net-snmp's ``snmptrap -v3 -l authPriv`` sends it:

* authPriv only; noAuthNoPriv and authNoPriv are dropped (``v3-security-level``).
* For a trap the sender is authoritative: ``msgAuthoritativeEngineID`` is the sender's
  engine id and keys are localized to it, as snmptrapd's ``createUser -e`` does. A user
  configured with ``engine_id`` matches only that engine; a user without one is taken
  from any engine, with keys localized to the id the message carries (learned, and
  cached per engine). Either way the HMAC proves the sender knows the passphrase.
* Timeliness (RFC 3414 §3.2 step 7b, non-authoritative side): the first authenticated
  message from an engine sets its boots/time; later ones must not go back in boots, nor
  more than 150 s back in time (``v3-not-in-time-window``); replays are refused so.
* Informs need the receiver to be authoritative (discovery, reports); they are dropped
  (``v3-inform``) rather than half answered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# pysnmp's USM modules import each other in a cycle that only resolves from the
# package itself, so it is loaded first.
import pysnmp.proto.secmod.rfc3414  # noqa: F401
from pyasn1.codec.ber import decoder as asn1_decoder
from pyasn1.type import univ
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.eso.priv import aes192, aes256
from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
from pysnmp.proto.secmod.rfc3414.priv import des
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc3826.priv import aes
from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

from garrison.collectors.snmp_trap.ber import SEQUENCE, DecodeError, expect, read_header
from garrison.collectors.snmp_trap.messages import V3, TrapMessage, decode_pdu
from garrison.config.settings import SnmpV3User

USM_SECURITY_MODEL = 3
FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
TIME_WINDOW = 150  # seconds, RFC 3414 §2.2.3
MAX_BOOTS = 2147483647
MAX_ENGINES = 10_000  # learned engines kept; the oldest go first beyond it

_SHA2 = hmacsha2.HmacSha2
AUTH: dict[str, Any] = {
    "MD5": lambda: hmacmd5.HmacMd5(),
    "SHA": lambda: hmacsha.HmacSha(),
    "SHA-224": lambda: _SHA2(_SHA2.SHA224_SERVICE_ID),
    "SHA-256": lambda: _SHA2(_SHA2.SHA256_SERVICE_ID),
    "SHA-384": lambda: _SHA2(_SHA2.SAH384_SERVICE_ID),
    "SHA-512": lambda: _SHA2(_SHA2.SHA512_SERVICE_ID),
}
AUTH_OIDS = {
    "MD5": hmacmd5.HmacMd5.SERVICE_ID,
    "SHA": hmacsha.HmacSha.SERVICE_ID,
    "SHA-224": _SHA2.SHA224_SERVICE_ID,
    "SHA-256": _SHA2.SHA256_SERVICE_ID,
    "SHA-384": _SHA2.SAH384_SERVICE_ID,
    "SHA-512": _SHA2.SHA512_SERVICE_ID,
}
# net-snmp's AES-192/AES-256 extend the localized key as draft-blumenthal-aes-usm does.
PRIV: dict[str, Any] = {
    "DES": des.Des,
    "AES": aes.Aes,
    "AES-192": aes192.AesBlumenthal192,
    "AES-256": aes256.AesBlumenthal256,
}


class UsmError(Exception):
    """A v3 message is refused; ``reason`` is the drop reason the receiver counts."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class _User:
    name: bytes
    engine_id: bytes | None  # None: any engine
    auth: Any
    auth_oid: tuple[int, ...]
    auth_ku: univ.OctetString  # the hashed passphrase, before localization
    priv: Any
    priv_ku: univ.OctetString


@dataclass
class _Engine:
    boots: int
    time: int  # the engine time at ``seen``
    seen: float  # our monotonic clock then

    def estimate(self, now: float) -> int:
        return self.time + int(now - self.seen)


def parse_engine_id(text: str) -> bytes | None:
    if not text:
        return None
    return bytes.fromhex(text.removeprefix("0x"))


class Usm:
    """Authenticates and decrypts v3 traps for the configured users."""

    def __init__(self, users: Sequence[SnmpV3User], clock: Any = time.monotonic) -> None:
        self._users: dict[bytes, list[_User]] = {}
        for user in users:
            auth = AUTH[user.auth_protocol]()
            priv = PRIV[user.priv_protocol]()
            auth_oid = AUTH_OIDS[user.auth_protocol]
            # Hashing a passphrase reads a megabyte; do it once, localize per engine.
            entry = _User(
                name=user.name.encode(),
                engine_id=parse_engine_id(user.engine_id),
                auth=auth,
                auth_oid=auth_oid,
                auth_ku=auth.hash_passphrase(user.auth_key.encode()),
                priv=priv,
                priv_ku=priv.hash_passphrase(auth_oid, user.priv_key.encode()),
            )
            self._users.setdefault(entry.name, []).append(entry)
        self._keys: dict[tuple[int, bytes], tuple[univ.OctetString, univ.OctetString]] = {}
        self._engines: dict[bytes, _Engine] = {}
        self._clock = clock

    def unwrap(self, datagram: bytes) -> TrapMessage:
        """The trap inside an authenticated, decrypted v3 message, or :class:`UsmError`."""
        msg, params = _parse(datagram)
        flags = bytes(msg["msgGlobalData"]["msgFlags"])
        if len(flags) != 1:
            raise UsmError("v3-malformed", "msgFlags is not one octet")
        if int(msg["msgGlobalData"]["msgSecurityModel"]) != USM_SECURITY_MODEL:
            raise UsmError("v3-security-model")
        if flags[0] & (FLAG_AUTH | FLAG_PRIV) != FLAG_AUTH | FLAG_PRIV:
            raise UsmError("v3-security-level", "only authPriv is accepted")
        engine_id = bytes(params["msgAuthoritativeEngineId"])
        name = bytes(params["msgUserName"])
        boots = int(params["msgAuthoritativeEngineBoots"])
        engine_time = int(params["msgAuthoritativeEngineTime"])
        if not engine_id:
            raise UsmError("v3-unknown-engine", "no authoritative engine id (a discovery probe)")
        candidates = self._users.get(name)
        if not candidates:
            raise UsmError("v3-unknown-user", name.decode("utf-8", "replace"))
        users = [u for u in candidates if u.engine_id in (None, engine_id)]
        if not users:
            raise UsmError("v3-unknown-engine", engine_id.hex())
        auth_params = params["msgAuthenticationParameters"]
        for user in users:
            auth_key, priv_key = self._localized(user, engine_id)
            try:
                user.auth.authenticate_incoming_message(auth_key, auth_params, datagram)
            except Exception:  # pysnmp raises StatusInformation or ProtocolError
                continue
            break
        else:
            raise UsmError("v3-auth", "wrong authentication key")
        self._check_time(engine_id, boots, engine_time)
        encrypted = msg["msgData"].getComponent()
        if not isinstance(encrypted, univ.OctetString):
            raise UsmError("v3-security-level", "scoped PDU sent in clear")
        salt = params["msgPrivacyParameters"]
        try:
            plain = user.priv.decrypt_data(priv_key, (boots, engine_time, salt), encrypted)
        except Exception as exc:  # a wrong salt length, a cipher refusing the key
            raise UsmError("v3-decrypt", type(exc).__name__) from None
        try:
            message = _scoped_pdu(bytes(plain))
        except DecodeError as exc:
            # A wrong privacy key decrypts to noise; the BER reader notices.
            raise UsmError("v3-decrypt", exc.reason) from None
        message.user = name.decode("utf-8", "replace")
        message.engine_id = engine_id
        if message.inform:
            raise UsmError("v3-inform", "v3 informs need an authoritative receiver")
        return message

    def _localized(
        self, user: _User, engine_id: bytes
    ) -> tuple[univ.OctetString, univ.OctetString]:
        key = (id(user), engine_id)
        keys = self._keys.get(key)
        if keys is None:
            if len(self._keys) >= MAX_ENGINES:
                self._keys.clear()
            engine = univ.OctetString(engine_id)
            auth_key = user.auth.localize_key(user.auth_ku, engine)
            priv_key = user.priv.localize_key(user.auth_oid, user.priv_ku, engine)
            keys = self._keys[key] = (auth_key, univ.OctetString(priv_key))
        return keys

    def _check_time(self, engine_id: bytes, boots: int, engine_time: int) -> None:
        now = self._clock()
        known = self._engines.get(engine_id)
        if known is None:
            if len(self._engines) >= MAX_ENGINES:
                del self._engines[next(iter(self._engines))]
            self._engines[engine_id] = _Engine(boots, engine_time, now)
            return
        estimate = known.estimate(now)
        if (
            known.boots == MAX_BOOTS
            or boots < known.boots
            or (boots == known.boots and engine_time < estimate - TIME_WINDOW)
        ):
            raise UsmError("v3-not-in-time-window", f"boots {boots} time {engine_time}")
        if boots > known.boots or engine_time > estimate:
            self._engines[engine_id] = _Engine(boots, engine_time, now)


def _parse(datagram: bytes) -> tuple[Any, Any]:
    try:
        msg, rest = asn1_decoder.decode(datagram, asn1Spec=SNMPv3Message())
        if rest:
            raise UsmError("v3-malformed", "octets after the message")
        params, rest = asn1_decoder.decode(
            bytes(msg["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters()
        )
        if rest:
            raise UsmError("v3-malformed", "octets after the security parameters")
    except UsmError:
        raise
    except Exception as exc:  # pyasn1 raises several kinds on malformed input
        raise UsmError("v3-malformed", type(exc).__name__) from None
    return msg, params


def _scoped_pdu(plain: bytes) -> TrapMessage:
    # ScopedPDU ::= SEQUENCE { contextEngineID, contextName, data }; block ciphers may
    # pad after it (RFC 3414 §8.1.1.3), so octets past the SEQUENCE are ignored.
    tag, start, stop = read_header(plain, 0, len(plain))
    if tag != SEQUENCE:
        raise DecodeError("bad-tag", "scoped PDU is not a SEQUENCE")
    _, pos = expect(plain, start, stop, 0x04)
    cstart, pos = expect(plain, pos, stop, 0x04)
    message = decode_pdu(plain, pos, stop, V3)
    message.context_name = plain[cstart:pos]
    return message
