"""`garrison ports`: listing, filters, firewall output, the probe, help and errors."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from garrison.cli.ports import app
from garrison.config import ConfigError
from garrison.ports.catalog import CATALOG, Table
from tests.support import RunningServer

TCP_LISTENERS = (
    "ssh-cli",
    "client-api",
    "client-backup",
    "https",
    "restore",
    "provision",
    "syslog-tcp",
    "syslog-tls",
)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file or GARRISON_* variable of the machine leaks into a test."""
    for name in [n for n in os.environ if n.startswith("GARRISON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GARRISON_DATA_DIR", str(tmp_path / "data"))


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def run_json(*args: str) -> list[dict[str, object]]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_usage_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    for word in words:
        assert word in message


@pytest.fixture
def closed_ports() -> list[int]:
    """One loopback port per TCP listener, nothing listening on any (bound, then released)."""
    sockets = [socket.socket() for _ in TCP_LISTENERS]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def check_args(ports: dict[str, int], *extra: str) -> list[str]:
    args = ["check", "127.0.0.1", *extra]
    for key, port in ports.items():
        args += ["--port", f"{key}={port}"]
    return args


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port whose kernel accepts connections; nobody ever speaks on them."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def test_listing_shows_every_row() -> None:
    result = run()
    assert result.exit_code == 0
    assert f"Port catalog: {len(CATALOG)} rows" in result.stdout
    for key in ("https", "client-api", "ha-database", "samba-1512-udp", "trha"):
        assert key in result.stdout


def test_json_listing_is_the_catalog() -> None:
    records = run_json()
    assert [r["key"] for r in records] == [e.key for e in CATALOG]
    https = next(r for r in records if r["key"] == "https")
    assert https | {"purpose": ""} == {
        "key": "https",
        "port": 443,
        "transport": "tcp",
        "service": "HTTPS",
        "source": "SMS Client Browser",
        "destination": "SMS Server",
        "purpose": "",
        "table": "client",
        "listener": True,
        "inbound": ["sms-primary", "sms-secondary"],
        "outbound": [],
    }


def test_filters_combine() -> None:
    assert {r["table"] for r in run_json("--table", "ha")} == {"ha"}
    listening = run_json("--listening")
    assert listening and all(r["listener"] for r in listening)
    ips_optional = run_json("--role", "ips", "--table", "optional")
    assert {r["key"] for r in ips_optional} == {"ntp", "sflow", "provision"}
    text = run("--role", "ips").stdout
    assert "Opens" in text and "inbound + outbound" in text  # TRHA both ways


def test_crypto_table_lists_ciphers_per_service() -> None:
    records = run_json("--table", "crypto")
    assert [r["ports"] for r in records] == [[443], [9033, 10042], [10043], [22]]
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in records[0]["ciphers"]  # type: ignore[operator]
    text = run("--table", "crypto").stdout
    assert "SSH-2" in text and "client-backup" in text


def test_crypto_table_rejects_row_filters() -> None:
    assert_usage_error(run("--table", "crypto", "--role", "ips"), "--role")


def test_unknown_table_is_a_usage_error() -> None:
    result = run("--table", "nope")
    assert result.exit_code == 2
    assert "nope" in result.output


def test_firewall_prints_an_nftables_ruleset() -> None:
    result = run("firewall", "--role", "sms-primary")
    assert result.exit_code == 0
    assert result.stdout.startswith("#!/usr/sbin/nft -f\n")
    assert "table inet garrison {" in result.stdout
    assert 'tcp dport 9033 counter accept comment "client-api, ha-jms:' in result.stdout
    assert "udp dport 161 " not in result.stdout.split("chain output")[0]  # optional agent


def test_firewall_optional_and_port_overrides() -> None:
    result = run(
        "firewall", "--role", "sms-secondary", "--format", "iptables", "--optional",
        "--port", "https=10443", "--port", "snmp-agent=10161",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "*filter" in result.stdout and result.stdout.endswith("COMMIT\n")
    assert "-A INPUT -p tcp -m tcp --dport 10443 " in result.stdout
    assert "-A INPUT -p udp -m udp --dport 10161 " in result.stdout


def test_firewall_needs_a_role() -> None:
    result = run("firewall")
    assert result.exit_code == 2
    assert "--role" in result.output


@pytest.mark.parametrize(
    ("value", "complaint"),
    [("https", "KEY=PORT"), ("nope=1", "'nope'"), ("https=70000", "1..65535")],
)
def test_firewall_rejects_bad_port_overrides(value: str, complaint: str) -> None:
    assert_usage_error(run("firewall", "--role", "ips", "--port", value), complaint)


def test_check_reports_open_and_closed(listening_port: int, closed_ports: list[int]) -> None:
    ports = dict(zip(TCP_LISTENERS, closed_ports, strict=True)) | {"https": listening_port}
    args = check_args(ports, "--timeout", "0.5")
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    states = {r["key"]: r["state"] for r in json.loads(result.stdout)}
    assert states == {key: "open" if key == "https" else "closed" for key in TCP_LISTENERS}
    text = run(*args).stdout
    assert "127.0.0.1: 1 of 8 TCP services answered" in text
    assert "TLS handshake timed out" in text  # it answers TCP but speaks no TLS


def test_check_fails_when_nothing_answers(closed_ports: list[int]) -> None:
    ports = dict(zip(TCP_LISTENERS, closed_ports, strict=True))
    result = run(*check_args(ports, "--timeout", "0.5"))
    assert result.exit_code == 1
    assert "0 of 8 TCP services answered" in result.stdout


def test_check_against_a_running_garrison(server: RunningServer, closed_ports: list[int]) -> None:
    """The probe meets Garrison's own listeners: they answer with TLS and a certificate."""
    https = {key: port for key, port in server.ports.items() if key in ("https", "client-api")}
    ports = dict(zip(TCP_LISTENERS, closed_ports, strict=True)) | https
    result = run(*check_args(ports, "--timeout", "3", "--format", "json"))
    assert result.exit_code == 0, result.output
    records = {r["key"]: r for r in json.loads(result.stdout)}
    for key in https:
        assert records[key]["state"] == "open", records[key]
        assert str(records[key]["tls_version"]).startswith("TLSv1."), records[key]
        assert records[key]["cipher"], records[key]
        assert "certificate" in str(records[key]["detail"])


def test_check_accepts_only_tcp_listener_keys() -> None:
    assert_usage_error(run("check", "127.0.0.1", "--port", "ntp=123"), "'ntp'", "https")


def test_check_stops_on_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`garrison` (main) prints a ConfigError as one line; the probe does not run."""
    monkeypatch.setenv("GARRISON_CONFIG", str(tmp_path / "nowhere.toml"))
    result = run("check", "127.0.0.1")
    assert isinstance(result.exception, ConfigError)
    assert "nowhere.toml: config file not found" in str(result.exception)


@pytest.mark.parametrize(
    ("args", "documented"),
    [
        ([], ["--table", "--role", "--listening", "--format", "firewall", "check"]),
        (["firewall"], ["--role", "--format", "--optional", "--port", "nftables"]),
        (["check"], ["HOST", "--port", "--timeout", "--format", "TLS"]),
    ],
)
def test_help_documents_every_option(args: list[str], documented: list[str]) -> None:
    result = run(*args, "--help")
    assert result.exit_code == 0
    for word in documented:
        assert word in result.stdout, word


def test_every_table_can_be_listed() -> None:
    for table in Table:
        assert run("--table", str(table)).exit_code == 0, table
