"""The catalog holds every row of the SMS port reference, and the keys other code uses."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from garrison.config import load_settings
from garrison.ports import catalog
from garrison.ports.catalog import CATALOG, CIPHER_POLICY, Direction, Role, Table

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "sms-port-reference.txt"

# Headings of the reference, in the order they appear, and the table each one opens.
SECTION_TABLES = (
    ("required to use the SMS client", Table.CLIENT),
    ("to manage TippingPoint devices", Table.DEVICE_MANAGEMENT),
    ("software and security updates", Table.UPDATES),
    ("to perform WhoIs lookups", Table.WHOIS),
    ("Active Response (Actions) Port Availability", Table.RESPONDER_ACTIONS),
    ("Active Response (triggers)", Table.RESPONDER_TRIGGERS),
    ("SMS to SMS HA", Table.HA),
    ("IPS to IPS Transparent", Table.TRHA),
    ("SMS Client Port", Table.OPTIONAL),
    ("SNMP Client Port", Table.OPTIONAL),
    ("Device Ports", Table.OPTIONAL),
    ("SMS Server Ports", Table.SERVER),
    ("SMS encryption protocols", Table.CRYPTO),
)
PORT_ROW = re.compile(r"^(\d+)/(TCP/UDP|TCP|UDP)\s*\|")
CRYPTO_ROW = re.compile(r"^(\d+(?: \d+)*) \|")
PROTOCOL = re.compile(r"TLSv1\.\d|SSLv2Hello|SSH-2")
CIPHER = re.compile(r"TLS_[A-Z0-9_]+|aes\d+-(?:gcm|ctr)")

# The keys other parts of Garrison bind or look up, with the port they must carry.
LISTENERS = {
    "https": (443, "tcp"),
    "client-api": (9033, "tcp"),
    "ssh-cli": (22, "tcp"),
    "client-backup": (10042, "tcp"),
    "restore": (943, "tcp"),
    "snmp-trap": (8162, "udp"),
    "snmp-trap-alt": (8163, "udp"),
    "snmp-agent": (161, "udp"),
    "responder-trap": (162, "udp"),
    "ntp": (123, "udp"),
    "provision": (10043, "tcp"),
    "radius-proxy": (1812, "udp"),
    "syslog-udp": (514, "udp"),
    "syslog-tcp": (514, "tcp"),
    "syslog-tls": (6514, "tcp"),
}


def _spec_text() -> str:
    if not SPEC.exists():
        pytest.skip(f"the port reference is not checked out beside the repository: {SPEC}")
    return SPEC.read_text(encoding="utf-8")


def spec_port_rows(text: str) -> Counter[tuple[int, str, Table]]:
    """(port, transport, table) of every port row, "TCP/UDP" counting once per transport."""
    rows: Counter[tuple[int, str, Table]] = Counter()
    table: Table | None = None
    previous: list[tuple[int, str, Table]] = []
    for line in text.splitlines():
        if match := PORT_ROW.match(line):
            assert table is not None, f"port row before any table heading: {line!r}"
            previous = [(int(match[1]), t, table) for t in match[2].lower().split("/")]
            rows.update(previous)
            continue
        for marker, opened in SECTION_TABLES:
            if marker in line:
                table = opened
        if table is Table.CRYPTO:
            break
        cells = [c.strip() for c in line.split("|") if c.strip()]
        # "External server | External replication": a second row for the port above it.
        if len(cells) >= 2 and cells[0] != "Port":
            rows.update(previous)
    return rows


def spec_crypto_rows(text: str) -> list[tuple[tuple[int, ...], set[str], set[str]]]:
    """(ports, protocols, ciphers) of each row of the encryption table."""
    section = text[text.index("SMS encryption protocols") :]
    section = section[section.index("\nPort |") :]
    rows: list[tuple[tuple[int, ...], set[str], set[str]]] = []
    for line in section.splitlines():
        if match := CRYPTO_ROW.match(line):
            rows.append((tuple(map(int, match[1].split())), set(), set()))
        if rows:
            rows[-1][1].update(PROTOCOL.findall(line))
            rows[-1][2].update(CIPHER.findall(line))
    return rows


def test_every_port_row_of_the_reference_is_in_the_catalog_once() -> None:
    expected = spec_port_rows(_spec_text())
    assert sum(expected.values()) >= 60, "the reference parser found too few rows"
    actual = Counter((e.port, e.transport, e.table) for e in CATALOG if e.table != Table.GARRISON)
    assert actual - expected == Counter(), "rows the reference does not have"
    assert expected - actual == Counter(), "rows of the reference missing from the catalog"


def test_every_pair_of_port_and_transport_of_the_reference_is_in_the_catalog() -> None:
    expected = {(port, transport) for port, transport, _ in spec_port_rows(_spec_text())}
    assert expected <= {(e.port, e.transport) for e in CATALOG}


def test_the_encryption_table_matches_the_reference() -> None:
    spec_rows = spec_crypto_rows(_spec_text())
    assert [ports for ports, _, _ in spec_rows] == [(443,), (9033, 10042), (10043,), (22,)]
    for ports, protocols, ciphers in spec_rows:
        policy = next(p for p in CIPHER_POLICY if [catalog.get(k).port for k in p.keys] == [*ports])
        assert set(policy.protocols) == protocols, ports
        assert set(policy.ciphers) == ciphers, ports


def test_keys_are_unique_slugs_the_settings_can_name() -> None:
    keys = [e.key for e in CATALOG]
    assert len(keys) == len(set(keys))
    # GARRISON_PORTS_CLIENT_API names "client-api": underscores in a key could not be named.
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key) for key in keys)


def test_rows_are_complete() -> None:
    for entry in CATALOG:
        assert entry.transport in ("tcp", "udp"), entry.key
        assert 0 < entry.port < 65536, entry.key
        assert entry.service and entry.source and entry.destination, entry.key
        assert entry.purpose.strip(), f"{entry.key} has no purpose"
        assert entry.inbound or entry.outbound, f"no role opens {entry.key}"


def test_the_listener_keys_carry_their_ports() -> None:
    for key, (port, transport) in LISTENERS.items():
        entry = catalog.get(key)
        assert (entry.port, entry.transport, entry.listener) == (port, transport, True), key
    assert {e.key for e in catalog.listeners()} == set(LISTENERS)


def test_no_socket_is_bound_twice() -> None:
    bound = Counter((e.port, e.transport) for e in catalog.listeners())
    assert max(bound.values()) == 1


def test_listeners_are_reachable_on_both_sms_roles() -> None:
    for entry in catalog.listeners():
        assert entry.inbound >= {Role.SMS_PRIMARY, Role.SMS_SECONDARY}, entry.key


def test_roles_open_the_rows_their_host_needs() -> None:
    ips = {e.key: e.directions(Role.IPS) for e in catalog.for_role(Role.IPS)}
    assert ips["device-snmp"] == (Direction.INBOUND,)
    assert ips["device-https"] == (Direction.INBOUND,)
    assert ips["snmp-trap"] == (Direction.OUTBOUND,)
    assert ips["trha"] == (Direction.INBOUND, Direction.OUTBOUND)
    assert "client-api" not in ips
    for role in (Role.SMS_PRIMARY, Role.SMS_SECONDARY):
        sms = {e.key for e in catalog.for_role(role)}
        assert {e.key for e in catalog.by_table(Table.HA)} <= sms
        assert "trha" not in sms
        required = {e.key for e in catalog.for_role(role, include_optional=False)}
        assert "snmp-agent" not in required
        assert "https" in required


def test_by_table_returns_that_table_only() -> None:
    assert [e.key for e in catalog.by_table(Table.TRHA)] == ["trha"]
    assert {e.port for e in catalog.by_table(Table.UPDATES)} == {80, 443, 4043}
    assert catalog.by_table(Table.CRYPTO) == ()


def test_unknown_key_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"known keys: .*client-api"):
        catalog.get("no-such-service")


def test_tls_services_follow_the_encryption_table() -> None:
    tls = {e.key for e in catalog.listeners() if catalog.speaks_tls(e)}
    assert tls == {"https", "client-api", "client-backup", "provision", "restore", "syslog-tls"}
    assert all(key in {e.key for e in CATALOG} for p in CIPHER_POLICY for key in p.keys)


def test_every_listener_port_can_be_overridden_from_the_environment(tmp_path: Path) -> None:
    environ = {
        f"GARRISON_PORTS_{key.upper().replace('-', '_')}": str(20000 + i)
        for i, key in enumerate(LISTENERS)
    }
    settings = load_settings(data_dir=tmp_path, environ=environ)
    assert [settings.port(key) for key in LISTENERS] == [20000 + i for i in range(len(LISTENERS))]


def test_low_ports_shift_by_ten_thousand_and_high_ports_do_not(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, environ={}, overrides={"server": {"low_ports": "shift"}}
    )
    assert settings.port("https") == 10443
    assert settings.port("ssh-cli") == 10022
    assert settings.port("client-api") == 9033
