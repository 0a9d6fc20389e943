"""The pure RADIUS helpers: checked against RFC 2865's worked example and against
pyrad, an independent implementation, both ways; the session and client tables; and a
hypothesis fuzz of everything that reads bytes from the network."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrad import packet as pyrad_packet

from garrison.config.settings import RadiusClient
from garrison.responder.radius import (
    ClientTable,
    RadiusProxy,
    SessionTable,
    normalize_mac,
    rfc3580_mac,
)
from garrison.responder.radius import packets as rp
from garrison.responder.radius.proxy import (
    _check_request,
    forward_access_attributes,
    quarantine_reject,
    relay_reply,
    strip_proxy_state,
)
from tests.support import make_settings

# RFC 2865 section 7.1: user nemo, password arctangent, secret xyzzy5461.
RFC_SECRET = b"xyzzy5461"
RFC_REQUEST = bytes.fromhex(
    "01000038 0f403f9473978057bd83d5cb98f4227a 01066e656d6f"
    "02120dbe708d93d413ce3196e43f782a0aee 0406c0a80110 050600000003".replace(" ", "")
)
RFC_ACCEPT = bytes.fromhex(
    "02000026 86fe220e7624ba2a1005f6bf9b55e0b2 060600000001 0f0600000000 0e06c0a80103".replace(
        " ", ""
    )
)

DICTIONARY = rp.load_dictionary()
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_rfc2865_example_decodes_reveals_and_verifies() -> None:
    request = rp.decode(RFC_REQUEST)
    assert (request.code, request.identifier) == (rp.ACCESS_REQUEST, 0)
    assert request.text(rp.USER_NAME) == "nemo"
    assert request.address(rp.NAS_IP_ADDRESS) == "192.168.1.16"
    assert request.integer(rp.NAS_PORT) == 3
    hidden = request.first(rp.USER_PASSWORD)
    assert hidden is not None
    assert rp.reveal_password(hidden, RFC_SECRET, request.authenticator) == b"arctangent"
    assert rp.hide_password(b"arctangent", RFC_SECRET, request.authenticator) == hidden
    assert request.encode() == RFC_REQUEST  # decoding is lossless
    accept = rp.decode(RFC_ACCEPT)
    assert rp.verify_reply(accept, request.authenticator, RFC_SECRET)
    assert not rp.verify_reply(accept, request.authenticator, b"other")
    signed = rp.sign_reply(
        accept.code, accept.identifier, accept.attributes, request.authenticator, RFC_SECRET
    )
    assert signed == RFC_ACCEPT


def pyrad_access_request(secret: bytes, *, message_authenticator: bool = True) -> bytes:
    request = pyrad_packet.AuthPacket(
        secret=secret, dict=DICTIONARY, User_Name="alice", Calling_Station_Id="AA-BB-CC-DD-EE-01"
    )
    request["User-Password"] = request.PwCrypt("secret1")
    if message_authenticator:
        request.add_message_authenticator()
    return request.RequestPacket()


def test_access_request_message_authenticator_agrees_with_pyrad() -> None:
    raw = pyrad_access_request(b"s3cret")
    request = rp.decode(raw)
    assert rp.verify_request(request, b"s3cret")
    assert not rp.verify_request(request, b"wrong")
    assert _check_request(request, b"wrong") == (
        "bad_message_authenticator",
        "Message-Authenticator does not match the client's secret",
    )
    assert _check_request(request, b"s3cret") is None
    # Ours, checked by pyrad.
    mine = rp.sign_request(request, b"other-secret")
    decoded = pyrad_packet.AuthPacket(packet=mine, secret=b"other-secret", dict=DICTIONARY)
    assert decoded.verify_message_authenticator()


@pytest.mark.parametrize("code", [rp.DISCONNECT_REQUEST, rp.COA_REQUEST, rp.ACCOUNTING_REQUEST])
def test_signed_requests_verify_in_pyrad(code: int) -> None:
    attributes = rp.with_message_authenticator(
        [(rp.USER_NAME, b"alice"), (rp.ACCT_SESSION_ID, b"s1")]
    )
    raw = rp.sign_request(rp.RadiusPacket(code, 9, rp.ZERO_VECTOR, attributes), b"k3y")
    cls = pyrad_packet.AcctPacket if code == rp.ACCOUNTING_REQUEST else pyrad_packet.CoAPacket
    theirs = cls(packet=raw, secret=b"k3y", dict=DICTIONARY)
    verify = theirs.VerifyAcctRequest if code == rp.ACCOUNTING_REQUEST else theirs.VerifyCoARequest
    assert verify()
    assert theirs.verify_message_authenticator()
    assert rp.verify_request(rp.decode(raw), b"k3y")
    assert not rp.verify_request(rp.decode(raw), b"other")
    # And pyrad's, checked by ours.
    built = cls(code=code, id=3, secret=b"k3y", dict=DICTIONARY, User_Name="bob")
    assert rp.verify_request(rp.decode(built.RequestPacket()), b"k3y")


def test_replies_we_sign_pass_pyrads_verify_reply() -> None:
    raw = pyrad_access_request(b"s3cret")
    theirs = pyrad_packet.AuthPacket(packet=raw, secret=b"s3cret", dict=DICTIONARY)
    request = rp.decode(raw)
    reject = quarantine_reject(request, b"s3cret")
    reply = pyrad_packet.AuthPacket(packet=reject, secret=b"s3cret", dict=DICTIONARY)
    assert theirs.VerifyReply(reply, reject, enforce_ma=True)
    assert reply.code == rp.ACCESS_REJECT
    assert reply["Reply-Message"] == ["quarantined by Garrison"]


def test_salt_encryption_agrees_with_pyrad() -> None:
    vector = bytes(range(16))
    mine = rp.salt_encrypt(b"tunnelpass123", b"k3y", vector)
    theirs = pyrad_packet.Packet(secret=b"k3y", dict=DICTIONARY)
    theirs.request_authenticator = vector
    assert theirs.SaltDecrypt(mine) == b"tunnelpass123"
    long_value = bytes(range(40))
    assert rp.salt_decrypt(theirs.SaltCrypt(long_value), b"k3y", vector) == long_value


def test_reply_hidden_values_are_reencrypted_for_the_other_hop() -> None:
    up_vector, down_vector = b"u" * 16, b"d" * 16
    mppe = rp.join_vendor_specific(
        rp.MICROSOFT,
        [(rp.MS_MPPE_RECV_KEY, rp.salt_encrypt(b"K" * 32, b"up", up_vector)), (99, b"keep")],
    )
    attributes = [
        (rp.TUNNEL_PASSWORD, b"\x01" + rp.salt_encrypt(b"tunnel", b"up", up_vector)),
        (rp.VENDOR_SPECIFIC, mppe),
        (rp.VENDOR_SPECIFIC, b"\x00\x00\x00\x09\x01"),  # not RFC format: passed as is
        (rp.REPLY_MESSAGE, b"hi"),
    ]
    out = rp.rehide_reply_attributes(
        attributes,
        from_secret=b"up",
        from_vector=up_vector,
        to_secret=b"down",
        to_vector=down_vector,
    )
    assert out[0][1][:1] == b"\x01"
    assert rp.salt_decrypt(out[0][1][1:], b"down", down_vector) == b"tunnel"
    split = rp.split_vendor_specific(out[1][1])
    assert split is not None and split[0] == rp.MICROSOFT
    assert rp.salt_decrypt(split[1][0][1], b"down", down_vector) == b"K" * 32
    assert split[1][1] == (99, b"keep")
    assert out[2:] == attributes[2:]


def test_forwarded_request_and_relayed_reply() -> None:
    raw = pyrad_access_request(b"switch", message_authenticator=False)
    request = rp.decode(raw)
    request = request.with_attributes([*request.attributes, (rp.PROXY_STATE, b"theirs")])
    new_vector = rp.new_authenticator()
    attributes = forward_access_attributes(
        request,
        client_secret=b"switch",
        upstream_secret=b"upstream",
        upstream_authenticator=new_vector,
        proxy_state=b"ours",
    )
    assert attributes[0] == (rp.MESSAGE_AUTHENTICATOR, rp.ZERO_VECTOR)
    assert attributes[-2:] == [(rp.PROXY_STATE, b"theirs"), (rp.PROXY_STATE, b"ours")]
    forwarded = rp.sign_request(
        rp.RadiusPacket(rp.ACCESS_REQUEST, 77, new_vector, tuple(attributes)), b"upstream"
    )
    upstream_view = pyrad_packet.AuthPacket(packet=forwarded, secret=b"upstream", dict=DICTIONARY)
    assert upstream_view.PwDecrypt(upstream_view["User-Password"][0]) == "secret1"
    assert upstream_view.verify_message_authenticator()
    # The upstream answers, echoing both Proxy-States.
    reply_raw = upstream_view.CreateReply(Reply_Message="welcome").ReplyPacket()
    reply = rp.decode(reply_raw)
    assert rp.verify_reply(reply, new_vector, b"upstream")
    relayed = relay_reply(
        reply,
        request,
        client_secret=b"switch",
        upstream_secret=b"upstream",
        upstream_authenticator=new_vector,
        proxy_state=b"ours",
    )
    switch_view = pyrad_packet.AuthPacket(packet=raw, secret=b"switch", dict=DICTIONARY)
    switch_view[33] = [b"theirs"]
    back = pyrad_packet.AuthPacket(packet=relayed, secret=b"switch", dict=DICTIONARY)
    assert switch_view.VerifyReply(back, relayed, enforce_ma=True)
    assert back.id == request.identifier and back["Reply-Message"] == ["welcome"]
    assert back[33] == [b"theirs"]


def test_chap_challenge_is_made_explicit() -> None:
    request = rp.RadiusPacket(
        rp.ACCESS_REQUEST, 1, b"A" * 16, ((rp.USER_NAME, b"u"), (rp.CHAP_PASSWORD, b"\x01" * 17))
    )
    attributes = forward_access_attributes(
        request,
        client_secret=b"a",
        upstream_secret=b"b",
        upstream_authenticator=b"B" * 16,
        proxy_state=b"p",
    )
    assert (rp.CHAP_CHALLENGE, b"A" * 16) in attributes


def test_proxy_state_strip_keeps_the_switchs_own() -> None:
    attributes = [(rp.PROXY_STATE, b"a"), (18, b"x"), (rp.PROXY_STATE, b"ours")]
    assert strip_proxy_state(attributes, b"ours") == attributes[:2]
    assert strip_proxy_state(attributes[:2], b"ours") == attributes[:2]


def test_eap_without_message_authenticator_is_refused() -> None:
    request = rp.RadiusPacket(rp.ACCESS_REQUEST, 1, b"A" * 16, ((rp.EAP_MESSAGE, b"\x02"),))
    assert _check_request(request, b"s") == (
        "missing_message_authenticator",
        "EAP-Message without Message-Authenticator",
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too_short"),
        (bytes([1, 0, 0, 19]) + bytes(16), "bad_length"),
        (bytes([1, 0, 0x10, 0x01]) + bytes(16), "bad_length"),
        (bytes([1, 0, 0, 40]) + bytes(16), "bad_length"),
        (bytes([1, 0, 0, 23]) + bytes(16) + b"\x01\x01\x00", "bad_attribute"),
        (bytes([1, 0, 0, 24]) + bytes(16) + b"\x01\x05\x00\x00", "bad_attribute"),
        (bytes([1, 0, 0, 21]) + bytes(16) + b"\x01", "bad_attribute"),
    ],
)
def test_malformed_packets_name_their_fault(data: bytes, reason: str) -> None:
    with pytest.raises(rp.MalformedPacket) as error:
        rp.decode(data)
    assert error.value.reason == reason


def test_padding_after_the_length_is_ignored() -> None:
    assert rp.decode(RFC_REQUEST + b"\x00" * 10).encode() == RFC_REQUEST


def test_password_edges() -> None:
    vector = b"v" * 16
    assert len(rp.hide_password(b"", b"s", vector)) == 16
    assert len(rp.hide_password(b"x" * 16, b"s", vector)) == 16
    assert rp.reveal_password(rp.hide_password(b"y" * 33, b"s", vector), b"s", vector) == b"y" * 33
    with pytest.raises(ValueError, match="128"):
        rp.hide_password(b"z" * 129, b"s", vector)
    with pytest.raises(rp.MalformedPacket):
        rp.reveal_password(b"short", b"s", vector)


def test_dictionary_loads_and_names_encode() -> None:
    builtin = rp.load_dictionary(str(rp.BUILTIN_DICTIONARY))
    for dictionary in (DICTIONARY, builtin):
        for name in ("Calling-Station-Id", "Error-Cause", "Filter-Id", "Cisco-AVPair"):
            assert name in dictionary.attributes
        encoded = rp.encode_named(
            dictionary, {"Filter-Id": "q", "Tunnel-Type:1": "VLAN", "Cisco-AVPair": "a=b"}
        )
        assert encoded == [
            (11, b"q"),
            (64, b"\x01\x00\x00\x0d"),
            (26, b"\x00\x00\x00\x09\x01\x05a=b"),
        ]
    with pytest.raises(ValueError, match="not in the RADIUS dictionary"):
        rp.encode_named(builtin, {"Nope": "1"})
    with pytest.raises(ValueError, match="'NAS-Port'"):
        rp.encode_named(builtin, {"NAS-Port": "many"})
    with pytest.raises(ValueError, match="encrypted"):
        rp.encode_named(builtin, {"Tunnel-Password": "x"})
    with pytest.raises(ValueError, match="RADIUS dictionary /nonexistent"):
        rp.load_dictionary("/nonexistent")


def test_mac_spellings() -> None:
    for text in ("AA-BB-CC-DD-EE-01", "aabb.ccdd.ee01", "aabbccddee01", " aa:bb:cc:dd:ee:01 "):
        assert normalize_mac(text) == "aa:bb:cc:dd:ee:01"
    for text in ("", "5551234", "aa:bb:cc:dd:ee", "gg:bb:cc:dd:ee:01", "aabbccddee0102"):
        assert normalize_mac(text) == ""
    assert rfc3580_mac("aabb.ccdd.ee01") == "AA-BB-CC-DD-EE-01"


def test_client_table_longest_prefix_wins() -> None:
    table = ClientTable(
        [
            RadiusClient(address="10.0.0.0/8", secret="wide"),
            RadiusClient(address="10.1.2.3", secret="narrow"),
            RadiusClient(address="2001:db8::/32", secret="six"),
        ]
    )
    assert table.secret_for("10.1.2.3") == b"narrow"
    assert table.secret_for("10.9.9.9") == b"wide"
    assert table.secret_for("::ffff:10.1.2.3") == b"narrow"
    assert table.secret_for("2001:db8::1") == b"six"
    assert table.secret_for("192.0.2.1") is None
    assert table.secret_for("not an address") is None
    with pytest.raises(ValueError, match="'switch-1' is not an address or CIDR"):
        ClientTable([RadiusClient(address="switch-1", secret="x")])


def test_session_table_merges_indexes_and_stays_bounded() -> None:
    now = [1000.0]
    table = SessionTable(max_sessions=3, clock=lambda: now[0])
    assert table.learn(client_address="127.0.0.1", user="") is None
    table.learn(client_address="127.0.0.1", user="alice", nas_port=1)
    merged = table.learn(
        client_address="127.0.0.1", calling_station_id="AA-BB-CC-DD-EE-01", user="alice"
    )
    assert merged is not None and merged.nas_port == 1  # absorbed the MAC-less entry
    assert len(table) == 1
    now[0] += 5
    table.learn(
        client_address="127.0.0.1",
        calling_station_id="aabbccddee01",
        session_id="s9",
        framed_ip="10.0.0.9",
    )
    session = table.find(address="10.0.0.9")
    assert session is not None and session.user == "alice" and session.session_id == "s9"
    assert session.calling_station_id == "aabbccddee01" and session.last_seen == 1005.0
    assert table.by_user("alice") == session == table.by_mac("AA:BB:CC:DD:EE:01")
    # The host moves to another switch: the old port does not follow it.
    moved = table.learn(client_address="127.0.0.2", calling_station_id="aabbccddee01")
    assert moved is not None and moved.nas_port is None and moved.user == ""
    assert table.by_user("alice") is None and table.by_address("10.0.0.9") is None
    for index in range(10):
        table.learn(client_address="127.0.0.1", calling_station_id=f"00000000000{index:x}")
    assert len(table) == 3
    assert table.by_mac("aa:bb:cc:dd:ee:01") is None  # the least recently seen went
    assert table.end(client_address="127.0.0.1", calling_station_id="000000000009")
    assert not table.end(client_address="127.0.0.1", calling_station_id="000000000009")
    assert len(table) == 2


# --- fuzzing: whatever arrives, only MalformedPacket ---------------------------------

SEEDS = [
    RFC_REQUEST,
    RFC_ACCEPT,
    pyrad_access_request(b"s3cret"),
    rp.sign_request(
        rp.RadiusPacket(
            rp.ACCOUNTING_REQUEST,
            5,
            rp.ZERO_VECTOR,
            ((rp.ACCT_STATUS_TYPE, b"\x00\x00\x00\x01"), (rp.FRAMED_IP_ADDRESS, b"\n\x00\x00\x01")),
        ),
        b"s3cret",
    ),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "cut"]))
        byte = draw(st.integers(0, 255))
        if op == "insert":
            data.insert(position, byte)
        elif op == "delete" and position < len(data):
            del data[position]
        elif op == "replace" and position < len(data):
            data[position] = byte
        elif op == "cut":
            del data[position:]
    return bytes(data)


def _read_everything(data: bytes) -> None:
    """What the proxy and the action do with bytes from the network."""
    try:
        packet = rp.decode(data)
    except rp.MalformedPacket:
        return
    assert packet.encode() == data[: len(packet.encode())]
    for secret in (b"s3cret", b""):
        _check_request(packet, secret)
        rp.verify_reply(packet, rp.ZERO_VECTOR, secret)
    packet.text(rp.USER_NAME), packet.integer(rp.NAS_PORT), packet.address(rp.NAS_IP_ADDRESS)
    normalize_mac(packet.text(rp.CALLING_STATION_ID))
    for _, value in packet.attributes:
        rp.split_vendor_specific(value)
    try:
        rp.rehide_reply_attributes(
            packet.attributes,
            from_secret=b"a",
            from_vector=rp.ZERO_VECTOR,
            to_secret=b"b",
            to_vector=rp.ZERO_VECTOR,
        )
        forward_access_attributes(
            packet,
            client_secret=b"a",
            upstream_secret=b"b",
            upstream_authenticator=rp.ZERO_VECTOR,
            proxy_state=b"p",
        )
    except rp.MalformedPacket:
        pass
    SessionTable().learn(
        client_address="127.0.0.1",
        calling_station_id=packet.text(rp.CALLING_STATION_ID),
        user=packet.text(rp.USER_NAME),
        nas_port=packet.integer(rp.NAS_PORT),
        framed_ip=packet.address(rp.FRAMED_IP_ADDRESS),
    )


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_only_ever_raise_malformed_packet(data: bytes) -> None:
    _read_everything(data)


@FUZZ
@given(mutated())
def test_mutated_real_packets_only_ever_raise_malformed_packet(data: bytes) -> None:
    _read_everything(data)


class _BlockEveryone:
    def blocks(self, *, mac: str = "", user: str = "") -> bool:
        return True


async def _serve_garbage(tmp: Path, datagrams: list[bytes]) -> RadiusProxy:
    """A started proxy (upstream silent, every host quarantined) fed ``datagrams`` over
    a real socket from a known client; returns it once all were read and handled."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        settings = make_settings(
            tmp,
            ports={"radius-proxy": 0},
            radius_proxy={
                "upstream_port": silent.getsockname()[1],
                "upstream_secret": "u",
                "upstream_timeout_seconds": 0.05,
                "upstream_retries": 0,
                "clients": [{"address": "127.0.0.1", "secret": "s3cret"}],
            },
        )
        proxy = RadiusProxy(settings, _BlockEveryone(), log_interval=3600)
        await proxy.start()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for data in datagrams:
                    sender.sendto(data, ("127.0.0.1", proxy.port))
                deadline = time.monotonic() + 5
                while proxy.stats.get("received", 0) < len(datagrams) or proxy._tasks:
                    assert time.monotonic() < deadline, (proxy.stats, proxy.drops)
                    await asyncio.sleep(0.005)
            # Still serving: a valid request from a quarantined host gets its reject.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as switch:
                switch.setblocking(False)
                request = _quarantined_request()
                loop = asyncio.get_running_loop()
                await loop.sock_sendto(switch, request, ("127.0.0.1", proxy.port))
                reply = rp.decode(await asyncio.wait_for(loop.sock_recv(switch, 4096), 5))
                assert (reply.code, reply.identifier) == (rp.ACCESS_REJECT, 1)
                assert rp.verify_reply(reply, request[4:20], b"s3cret")
        finally:
            await proxy.stop()
        return proxy


def _quarantined_request() -> bytes:
    packet = rp.RadiusPacket(rp.ACCESS_REQUEST, 1, rp.new_authenticator(), ((1, b"mallory"),))
    return rp.sign_request(packet, b"s3cret")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=300), mutated()), min_size=1, max_size=30))
def test_proxy_counts_whatever_arrives_and_keeps_serving(
    tmp_path_factory: pytest.TempPathFactory, datagrams: list[bytes]
) -> None:
    proxy = asyncio.run(_serve_garbage(tmp_path_factory.mktemp("fuzz"), datagrams))
    stats, drops = proxy.stats, proxy.drops
    # Each datagram ended exactly one way: dropped for a reason, rejected as quarantined,
    # recognised as a retransmission, or forwarded (and then timed out upstream).
    handled = sum(n for reason, n in drops.items() if reason != "upstream_timeout")
    handled += stats.get("rejected_quarantined", 0) + stats.get("duplicates", 0)
    handled += stats.get("forwarded", 0)
    assert stats["received"] == len(datagrams) + 1
    assert handled == len(datagrams) + 1
    assert drops.get("upstream_timeout", 0) == stats.get("forwarded", 0)
    assert "internal_error" not in drops
