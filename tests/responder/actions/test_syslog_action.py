"""The syslog action: rsyslogd receives its lines over UDP, TCP and TLS (RFC 5424 and CEF);
Garrison's own syslog parsers read the formats back (a second, independent check, fuzzed
with hypothesis); and the settings checks."""

from __future__ import annotations

import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garrison import __version__
from garrison.collectors.syslog.cef import parse_cef
from garrison.collectors.syslog.parse import parse_syslog
from garrison.errors import Invalid
from garrison.responder.actions import registry
from garrison.responder.actions.base import ActionContext, ActionFailed, ActionServices
from garrison.responder.actions.syslog import (
    SD_ID,
    SyslogAction,
    SyslogConfig,
    cef_extension,
    format_cef,
    format_rfc5424,
    octet_counted,
    send_syslog,
)
from tests.events.samples import T0, full_alert
from tests.responder.actions.syslog_peers import free_port, rsyslog_receiver
from tests.support import make_settings

pytestmark = pytest.mark.timeout(90)
needs_rsyslog = pytest.mark.skipif(
    shutil.which("rsyslogd") is None,
    reason="needs rsyslogd (apt-get install rsyslog rsyslog-openssl)",
)
HOST = socket.gethostname()
NOW = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)


def context(**changes: Any) -> ActionContext:
    values: dict[str, Any] = {
        "response_id": 42,
        "policy": 'Block "scanners" [lab]',
        "address": "192.0.2.66",
        "phase": "initial",
        "trigger": "threshold",
        "opened_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "mac": "00:11:22:33:44:55",
        "user": "bob",
        "events": (full_alert(),),
    }
    values.update(changes)
    return ActionContext(**values)


def action(tmp_path: Path, **config: Any) -> SyslogAction:
    settings = make_settings(tmp_path / "data")
    return SyslogAction(SyslogConfig.model_validate(config), ActionServices(settings=settings))


# --- rsyslogd receives ---------------------------------------------------------------


@needs_rsyslog
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_rfc5424_line_reaches_rsyslog(tmp_path: Path, transport: str) -> None:
    async with rsyslog_receiver(tmp_path, transport) as rx:
        sender = action(
            tmp_path, host="127.0.0.1", port=rx.port, transport=transport,
            ca_file=str(rx.ca), message="{policy} hit {address} = {signature}",
        )  # fmt: skip
        result = await sender.run(context())
        (raw,) = await rx.wait_lines(1)
    assert raw.startswith(b"<164>1 ")  # local4 (20) * 8 + warning (4)
    line = parse_syslog(raw, datetime.now(UTC))
    assert (line.format, line.facility, line.severity) == ("rfc5424", 20, 4)
    assert (line.hostname, line.app_name, line.msgid) == (HOST, "garrison", "responder-initial")
    assert line.timestamp is not None
    assert abs(line.timestamp - datetime.now(UTC)) < timedelta(minutes=1)
    assert line.structured_data == {
        SD_ID: {
            "policy": 'Block "scanners" [lab]',
            "response": "42",
            "address": "192.0.2.66",
            "phase": "initial",
            "trigger": "threshold",
            "mac": "00:11:22:33:44:55",
            "user": "bob",
        }
    }
    # The SD-PARAM escapes as they went over the wire.
    assert b'policy="Block \\"scanners\\" [lab\\]"' in raw
    assert (
        line.message
        == 'Block "scanners" [lab] hit 192.0.2.66 = 43756: ISAKMP: Invalid Payload Length'
    )
    assert f"127.0.0.1:{rx.port}/{transport}" in result.detail


@needs_rsyslog
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_cef_line_reaches_rsyslog(tmp_path: Path, transport: str) -> None:
    async with rsyslog_receiver(tmp_path, transport) as rx:
        sender = action(
            tmp_path, host="127.0.0.1", port=rx.port, transport=transport, format="cef",
            ca_file=str(rx.ca), facility="auth", severity="crit",
            message="released {address}; a=b | c\\d",
        )  # fmt: skip
        before = datetime.now(UTC)
        await sender.run(context(phase="timeout", address="2001:db8::66", user=""))
        (raw,) = await rx.wait_lines(1)
    assert raw.startswith(b"<34>")  # auth (4) * 8 + crit (2)
    line = parse_syslog(raw, datetime.now(UTC))
    assert (line.facility, line.severity, line.hostname) == (4, 2, HOST)
    assert line.message.startswith(f"CEF:0|Garrison|Responder|{__version__}|responder:timeout|")
    record = parse_cef(line.message)
    assert (record.vendor, record.product, record.device_version) == (
        "Garrison",
        "Responder",
        __version__,
    )
    assert (record.signature_id, record.name, record.severity) == (
        "responder:timeout",
        "Response closed",
        "9",
    )
    ext = record.extension
    assert "src" not in ext and (ext["c6a2"], ext["c6a2Label"]) == (
        "2001:db8::66",
        "Source IPv6 Address",
    )
    assert ext["smac"] == "00:11:22:33:44:55" and "suser" not in ext
    assert (ext["cs1Label"], ext["cs1"]) == ("policy", 'Block "scanners" [lab]')
    assert (ext["cn1Label"], ext["cn1"]) == ("responseId", "42")
    assert (ext["cs2Label"], ext["cs2"], ext["act"]) == ("trigger", "threshold", "close")
    assert ext["msg"] == "released 2001:db8::66; a=b | c\\d"
    assert b"msg=released 2001:db8::66; a\\=b | c\\\\d" in raw
    sent = int(ext["rt"])
    assert before.timestamp() * 1000 - 1 <= sent <= datetime.now(UTC).timestamp() * 1000


@needs_rsyslog
async def test_tls_server_not_trusted_fails_clearly(tmp_path: Path) -> None:
    async with rsyslog_receiver(tmp_path, "tls") as rx:
        sender = action(tmp_path, host="127.0.0.1", port=rx.port, transport="tls")
        with pytest.raises(ActionFailed) as failed:
            await sender.run(context())
        assert rx.lines() == []
    assert "TLS certificate is not trusted" in failed.value.reason
    assert f"127.0.0.1:{rx.port}/tls" in failed.value.reason
    assert not failed.value.retryable


@needs_rsyslog
async def test_send_syslog_is_reusable_and_frames_by_octet_count(tmp_path: Path) -> None:
    """Two messages on TCP, one holding a line break: octet counting keeps them apart."""
    async with rsyslog_receiver(tmp_path, "tcp") as rx:
        await send_syslog("127.0.0.1", rx.port, "tcp", b"<13>1 - - t - - - first", timeout=5)
        await send_syslog("127.0.0.1", rx.port, "tcp", b"<13>1 - - t - - - a\nb", timeout=5)
        lines = await rx.wait_lines(2)
    # rsyslogd escapes the control character on reception (#012): one message, one line.
    assert lines == [b"<13>1 - - t - - - first", b"<13>1 - - t - - - a#012b"]


@pytest.mark.parametrize("transport", ["tcp", "tls"])
async def test_nothing_listening(tmp_path: Path, transport: str) -> None:
    port = free_port("tcp")
    sender = action(tmp_path, host="127.0.0.1", port=port, transport=transport, verify_tls=False)
    with pytest.raises(ActionFailed) as failed:
        await sender.run(context())
    assert f"syslog server 127.0.0.1:{port}/{transport}: connection failed" in failed.value.reason
    assert failed.value.retryable


async def test_udp_too_big_for_a_datagram(tmp_path: Path) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, host="127.0.0.1", message="x" * 15_000 + "{events}").run(
            context(events=(full_alert(),) * 600)
        )
    assert "does not fit one UDP datagram" in failed.value.reason
    assert not failed.value.retryable


# --- the formats, without sockets ----------------------------------------------------


def test_format_rfc5424_exact_bytes() -> None:
    line = format_rfc5424(
        facility=20, severity=4, timestamp=NOW, hostname="sms.example", app_name="garrison",
        procid="77", msgid="responder-initial",
        structured={SD_ID: {"policy": 'a"b\\c]d', "response": "1"}}, message="héllo\n",
    )  # fmt: skip
    assert line == (
        b"<164>1 2026-02-03T04:05:06.789Z sms.example garrison 77 responder-initial "
        b'[garrison@32473 policy="a\\"b\\\\c\\]d" response="1"] \xef\xbb\xbfh\xc3\xa9llo'
    )
    empty = format_rfc5424(
        facility=0, severity=0, timestamp=NOW, hostname="", app_name="a b", procid="",
        msgid="", structured={}, message="",
    )  # fmt: skip
    assert empty == b"<0>1 2026-02-03T04:05:06.789Z - ab - - -"


def test_format_cef_exact_line() -> None:
    line = format_cef(
        signature_id="responder:initial",
        name="a|b\\c\nd",
        severity=6,
        extension={"src": "10.0.0.1", "msg": "x=1\\2\r\n3  ", "cs1": ""},
        version="1.2",
    )
    assert line == (
        "CEF:0|Garrison|Responder|1.2|responder:initial|a\\|b\\\\c d|6|"
        "src=10.0.0.1 msg=x\\=1\\\\2\\r\\n3 cs1="
    )
    with pytest.raises(ValueError, match="out of range"):
        format_cef(signature_id="s", name="n", severity=11, extension={})


def test_octet_counting() -> None:
    assert octet_counted("é".encode()) == b"2 \xc3\xa9"


def test_payload_for_ipv4_uses_src() -> None:
    sender = SyslogAction(
        SyslogConfig(host="h", format="cef"),
        ActionServices(settings=None),  # type: ignore[arg-type]
    )
    raw = sender.payload(context(mac="", user="u"), NOW)
    record = parse_cef(raw.decode())
    assert record.extension["src"] == "192.0.2.66" and "c6a2" not in record.extension
    assert record.extension["suser"] == "u" and "smac" not in record.extension
    assert record.extension["rt"] == str(int(NOW.timestamp() * 1000))
    assert record.severity == "6"  # warning
    assert raw.startswith(b"<164>Feb  3 04:05:06 ")


# Any text but surrogates (they cannot be encoded at all), made of pieces rich in what
# the formats escape or split on, so that "a b=c" and friends come up often.
TEXT = st.lists(
    st.one_of(
        st.sampled_from([" ", "=", "\\", "|", "\r", "\n", "\t", '"', "]", "[", " k=", "a"]),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=TEXT, address=TEXT, message=TEXT, mac=TEXT, user=TEXT, name=TEXT)
def test_cef_reads_back_through_our_parser(
    policy: str, address: str, message: str, mac: str, user: str, name: str
) -> None:
    extension = cef_extension(
        address=address, mac=mac, user=user, policy=policy, response_id=9,
        trigger="manual", act="open", timestamp=NOW, message=message,
    )  # fmt: skip
    line = format_cef(signature_id="responder:initial", name=name, severity=4, extension=extension)
    record = parse_cef(line)
    # CEF cannot carry trailing blanks in a value (the reader cannot tell them from the
    # separator), nor line breaks in the header: the formatter documents both.
    expected = {k: v.rstrip(" \t") for k, v in extension.items()}
    assert record.extension == expected
    assert record.name == " ".join(name.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert record.unparsed == ""
    assert (record.vendor, record.product, record.signature_id, record.severity) == (
        "Garrison",
        "Responder",
        "responder:initial",
        "4",
    )
    assert record.extension["cs1"] == policy.rstrip(" \t")
    assert record.extension.get("src", record.extension.get("c6a2")) == address.rstrip(" \t")


@settings(max_examples=300, deadline=None)
@given(policy=TEXT, address=TEXT, message=TEXT, user=TEXT)
def test_rfc5424_reads_back_through_our_parser(
    policy: str, address: str, message: str, user: str
) -> None:
    params = {"policy": policy, "response": "9", "address": address, "user": user}
    raw = format_rfc5424(
        facility=20, severity=4, timestamp=NOW, hostname=HOST, app_name="garrison",
        procid="1", msgid="responder-initial", structured={SD_ID: params}, message=message,
    )  # fmt: skip
    line = parse_syslog(raw, NOW)
    assert line.format == "rfc5424"
    assert line.structured_data == {SD_ID: params}
    assert line.message == message.rstrip("\r\n\0")
    assert line.timestamp == NOW


# --- settings --------------------------------------------------------------------------


@pytest.fixture
def only_syslog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "ACTION_TYPES", {"syslog": SyslogAction})
    monkeypatch.setattr(registry, "_loaded", True, raising=False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "host: Field required"),
        ({"host": "a b"}, "host: Value error, 'a b' is not a host"),
        ({"host": "h", "transport": "sctp"}, "transport: Input should be 'udp', 'tcp' or 'tls'"),
        ({"host": "h", "format": "leef"}, "format: Input should be 'rfc5424' or 'cef'"),
        ({"host": "h", "facility": "local9"}, "facility: Value error, unknown syslog facility"),
        ({"host": "h", "facility": 24}, "facility: Value error, syslog facility 24 is out of"),
        ({"host": "h", "severity": "loud"}, "severity: Value error, unknown syslog severity"),
        ({"host": "h", "port": 70000}, "port: Input should be less than or equal to 65535"),
        ({"host": "h", "app_name": "my app"}, "app_name: Value error, 'my app': APP-NAME"),
        ({"host": "h", "message": "{address} {nope}"}, "message: unknown template field {nope}"),
        ({"host": "h", "tls": True}, "tls: Extra inputs are not permitted"),
    ],
)
def test_parse_config_refuses_bad_settings(
    only_syslog: None, raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid) as refused:
        registry.parse_config("syslog", raw, "policy P, action log")
    assert str(refused.value).startswith("policy P, action log: ")
    assert message in str(refused.value)


def test_parse_config_defaults_and_names(only_syslog: None) -> None:
    config = registry.parse_config("syslog", {"host": "siem.example"}, "p")
    assert isinstance(config, SyslogConfig)
    assert (config.port, config.transport, config.format) == (514, "udp", "rfc5424")
    assert (config.facility, config.severity) == (20, 4)  # local4, warning
    named = registry.parse_config(
        "syslog", {"host": "h", "facility": "AUTH", "severity": "error"}, "p"
    )
    assert isinstance(named, SyslogConfig)
    assert (named.facility, named.severity) == (4, 3)
    numbered = registry.parse_config("syslog", {"host": "h", "facility": "23", "severity": 7}, "p")
    assert isinstance(numbered, SyslogConfig)
    assert (numbered.facility, numbered.severity) == (23, 7)
