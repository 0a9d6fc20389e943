"""Pure parts of ipsim: BER, USM keys (RFC 3414 vectors), v3 messages, traffic, MIB order."""

from __future__ import annotations

import collections

import pytest

from ipsim import ber, snmp_message, usm
from ipsim.device import DeviceState
from ipsim.identity import MODELS, engine_id_for, make_identity
from ipsim.mib import MibView, build_table
from ipsim.traffic import CATALOGUE, AttackGenerator, ProfilePolicy, TrafficConfig


@pytest.mark.parametrize(
    "value",
    [
        ber.integer(0),
        ber.integer(-129),
        ber.integer(2**31 - 1),
        ber.octets(b"\x00\xff"),
        ber.object_id("1.3.6.1.4.1.10734.1.3.44"),
        ber.ip_address("198.51.100.7"),
        ber.counter32(2**32 - 1),
        ber.gauge32(128),
        ber.timeticks(5),
        ber.counter64(2**64 - 1),
        ber.null(),
    ],
)
def test_ber_round_trip(value: ber.Value) -> None:
    data = ber.encode_value(value)
    assert ber.decode_value(data, ber.read_tlv(data, 0)) == value


def test_ber_rejects_truncation() -> None:
    with pytest.raises(ber.BerError):
        ber.read_tlv(b"\x30\x05\x02\x01", 0)


def test_rfc3414_key_localization_vectors() -> None:
    engine = bytes.fromhex("000000000000000000000002")
    md5 = usm.password_to_key("MD5", "maplesyrup")
    assert md5.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert usm.localize_key("MD5", md5, engine).hex() == "526f5eed9fcce26f8964c2930787d82b"
    sha = usm.password_to_key("SHA", "maplesyrup")
    assert usm.localize_key("SHA", sha, engine).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_v3_message_round_trip_with_auth_and_priv() -> None:
    user = usm.UsmUser("u", "SHA-256", "authpass123", "AES", "privpass123")
    engine = engine_id_for("SERIAL1")
    pdu = snmp_message.Pdu(
        snmp_message.GET, 42, varbinds=[((1, 3, 6, 1, 2, 1, 1, 5, 0), ber.null())]
    )
    data = snmp_message.encode_v3(
        msg_id=7,
        flags=snmp_message.FLAG_AUTH | snmp_message.FLAG_PRIV,
        engine_id=engine,
        boots=1,
        time=100,
        user=user,
        user_name=b"u",
        context_engine_id=engine,
        context_name=b"",
        pdu=pdu,
        salt=b"\x00" * 7 + b"\x01",
    )
    msg = snmp_message.decode_v3(data)
    auth_key, priv_key = user.keys(engine)
    assert msg.msg_id == 7 and msg.engine_id == engine and len(msg.auth_params) == 24
    assert snmp_message.verify_digest(data, msg, user, auth_key)
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    assert not snmp_message.verify_digest(
        tampered, snmp_message.decode_v3(tampered), user, auth_key
    )
    plain = usm.decrypt(priv_key, msg.boots, msg.time, msg.priv_params, msg.scoped_pdu)
    assert snmp_message.decode_scoped_pdu(plain)[2] == pdu


def test_traffic_is_deterministic_and_skewed() -> None:
    def run(seed: int) -> list:
        gen = AttackGenerator(TrafficConfig(), seed=seed, segments=4)
        return [gen.next_event(0) for _ in range(3000)]

    first, again, other = run(5), run(5), run(6)
    assert first == again and first != other
    assert [e.seq for e in first] == list(range(1, 3001))
    sources = collections.Counter(e.src_ip for e in first)
    top_share = sum(n for _, n in sources.most_common(10)) / len(first)
    assert top_share > 0.3  # a few sources make much of the noise (Zipf), not a uniform spread
    assert {e.action for e in first} <= {"Block", "Permit", "Rate Limit"}
    assert {e.severity for e in first} == {"Low", "Minor", "Major", "Critical"}
    assert len(CATALOGUE) >= 30 and len({f.number for f in CATALOGUE}) == len(CATALOGUE)


def test_action_mix_and_profile_overrides() -> None:
    gen = AttackGenerator(TrafficConfig(action_mix={"Rate Limit": 1.0}), seed=1)
    assert {gen.next_event(0).action for _ in range(200)} == {"Rate Limit"}  # type: ignore[union-attr]
    disabled = ProfilePolicy(
        "P", categories=dict.fromkeys({f.category for f in CATALOGUE}, "Disabled")
    )
    assert gen.next_event(0, disabled) is None


def test_mib_table_sorted_unique_and_walkable() -> None:
    state = DeviceState(make_identity(0, model="6200NX"), seed=1, ha_partner="X")
    rows = build_table(state)
    oids = [oid for oid, _ in rows]
    assert oids == sorted(oids) and len(set(oids)) == len(oids)
    assert (1, 3, 6, 1, 2, 1, 1, 2, 0) in oids
    view = MibView(state)
    assert view.get((1, 3, 6, 1, 2, 1, 1, 2, 0)) == ber.object_id(MODELS["6200NX"].sys_object_id)
    oid, seen = (1,), 0
    while True:
        oid, value = view.get_next(oid)
        if value.tag == ber.END_OF_MIB_VIEW:
            break
        seen += 1
    assert seen == len(rows)
    # 8 segments on a 6200NX: ports 1A..8B
    assert view.get((1, 3, 6, 1, 2, 1, 2, 1, 0)) == ber.integer(16)


def test_event_log_since() -> None:
    state = DeviceState(make_identity(1), seed=1)
    for _ in range(20):
        state.record_attack()
    assert [e.seq for e in state.events_since(15, 100)] == [16, 17, 18, 19, 20]
    assert [e.seq for e in state.events_since(0, 3)] == [1, 2, 3]
    assert state.events_since(20, 10) == []
