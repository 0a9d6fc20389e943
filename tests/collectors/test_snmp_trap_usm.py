"""SNMPv3 USM on packets net-snmp's snmptrap sent (stored under tests/data/snmp_trap):
keys per engine, the time window, and each refusal's reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garrison.collectors.snmp_trap.tippingpoint import POLICY_NOTIFY
from garrison.collectors.snmp_trap.usm import Usm, UsmError
from garrison.config.settings import SnmpV3User
from tests.collectors.test_snmp_trap_support import DATA

PACKET = bytes.fromhex((DATA / "netsnmp_v3_policy_authpriv.hex").read_text().strip())
ENGINE = bytes.fromhex("8000000001020304")


def user(**changes: str) -> SnmpV3User:
    fields = {
        "name": "tpuser",
        "auth_protocol": "SHA-256",
        "auth_key": "authpass123",
        "priv_protocol": "AES",
        "priv_key": "privpass123",
        **changes,
    }
    return SnmpV3User(**fields)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_authpriv_trap_is_authenticated_and_decrypted() -> None:
    for configured in (user(engine_id="0x8000000001020304"), user()):  # fixed, then learned
        message = Usm([configured]).unwrap(PACKET)
        assert message.trap_oid == POLICY_NOTIFY
        assert (message.user, message.engine_id) == ("tpuser", ENGINE)
        assert message.varbinds[0] == ("1.3.6.1.4.1.10734.3.3.3.1.11.0", b"ips-lab-01")


def test_the_time_window_refuses_old_messages() -> None:
    clock = Clock()
    usm = Usm([user()], clock=clock)
    usm.unwrap(PACKET)
    clock.now += 100
    usm.unwrap(PACKET)  # a replay inside the 150 s window passes, as RFC 3414 allows
    clock.now += 100
    with pytest.raises(UsmError) as raised:
        usm.unwrap(PACKET)
    assert raised.value.reason == "v3-not-in-time-window"


@pytest.mark.parametrize(
    ("users", "reason"),
    [
        ([user(auth_key="otherauth123")], "v3-auth"),
        ([user(auth_protocol="SHA-512")], "v3-auth"),
        ([user(priv_key="otherpriv123")], "v3-decrypt"),
        ([user(name="someone")], "v3-unknown-user"),
        ([user(engine_id="8000000001999999")], "v3-unknown-engine"),
        ([], "v3-unknown-user"),
    ],
)
def test_refusals_name_their_reason(users: list[SnmpV3User], reason: str) -> None:
    with pytest.raises(UsmError) as raised:
        Usm(users).unwrap(PACKET)
    assert raised.value.reason == reason


def test_two_users_of_one_name_are_both_tried() -> None:
    usm = Usm([user(auth_key="otherauth123"), user()])
    assert usm.unwrap(PACKET).user == "tpuser"


def test_lower_security_levels_and_junk_are_refused() -> None:
    usm = Usm([user()])
    # msgFlags is the one octet after the 04 01 of the header's flags field.
    at = PACKET.index(b"\x04\x01\x03") + 2  # reportable bit off in a trap: flags = 3
    for flags, reason in ((0x01, "v3-security-level"), (0x00, "v3-security-level")):
        altered = PACKET[:at] + bytes([flags]) + PACKET[at + 1 :]
        with pytest.raises(UsmError) as raised:
            usm.unwrap(altered)
        assert raised.value.reason == reason
    for junk in (b"", b"\x30\x03\x02\x01\x03", PACKET[:-1], PACKET + b"\x00"):
        with pytest.raises(UsmError) as raised:
            usm.unwrap(junk)
        assert raised.value.reason == "v3-malformed"


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1300), st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_v3_packets_only_raise_usm_error(edits: list[tuple[int, int]]) -> None:
    usm = Usm([user()])
    data = bytearray(PACKET)
    for position, octet in edits:
        data[position % len(data)] = octet
    try:
        usm.unwrap(bytes(data))
    except UsmError as exc:
        assert exc.args
