"""Helpers for the external-database tests: names unique to a test run (the MariaDB
database name and the reader are global on the server), data stored through Garrison's
store, and the real `mariadb` and `psql` command-line clients as the read-only user."""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import typer
from sqlalchemy.engine import make_url

from garrison.cli import externaldb as externaldb_cli
from garrison.cli.main import root as garrison_root
from garrison.events import Action, Event, EventKind, Severity
from garrison.externaldb import manage
from garrison.store import Store
from garrison.store.catalog import Catalog
from garrison.store.devices import DeviceGroups, Devices
from garrison.store.events import EventRows

PASSWORD = "reader passphrase 1"
T0 = datetime(2026, 2, 1, 12, 0, 0, 123456, tzinfo=UTC)
# The signed 64-bit numbers of hex digits, as the SMS's BIGINT columns hold them.


def signed(number: int) -> int:
    return number - (1 << 64) if number >= 1 << 63 else number


def epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class Seeded:
    edge: int  # device numbers (DEVICE.SHORT_ID)
    core: int


def seed(store: Store) -> Seeded:
    """Two devices in a group, four alerts, a quarantine event and a system notice,
    stored as Garrison's events writer stores them (with the catalog it learns)."""
    with store.transaction() as tx:
        group = DeviceGroups(tx.session).add(name="perimeter")
        devices = Devices(tx.session)
        edge = devices.add(
            name="edge-1", address="192.0.2.10", group_id=group.id, model="TPS 8200TX"
        )
        core = devices.add(name="core-1", address="2001:db8::10", serial="X123")
    events = [
        Event(
            kind=EventKind.ALERT,
            collector="snmp-trap",
            source_address="192.0.2.10",
            received_at=T0 + timedelta(seconds=1),
            severity=Severity.CRITICAL,
            device_id=edge.id,
            device_name="edge-1",
            sequence=101,
            alert_type=0x2,
            signature_id="00000001-0001-0001-0001-000000007610",
            signature_number=7610,
            name="7610: HTTP: Suspicious Request",
            category="Vulnerabilities",
            begin_time=T0 - timedelta(seconds=60),
            end_time=T0,
            hit_count=3,
            protocol="http",
            src_ip="10.1.2.3",
            src_port=40000,
            dst_ip="2001:db8::1",
            dst_port=80,
            vlan=5,
            segment="1-1A 1-1B",
            physical_port_in=2,
            action=Action.BLOCK,
            action_set="Block / Notify",
            packet_trace=True,
            message_params="GET|/index.php",
            extra={
                "tptPolicyNotifyClientip": "192.0.2.77",
                "xffIp": "ffff:1:2:3:8000::1",
                "tcipIp": "not an address",
                "tptPolicyNotifyRate": "2048",
                "tptPolicyNotifyTraceBucket": "7",
                "tptPolicyNotifyVirtualSegment": " 3 ",
                "requestHost": "www.example.com",
                "uriMethod": "GET",
                "suser": "alice",
                "dhost": "web-01",
            },
        ),
        Event(
            kind=EventKind.ALERT,
            collector="syslog",
            source_address="2001:db8::10",
            received_at=T0 + timedelta(seconds=2),
            severity=Severity.MAJOR,
            device_id=core.id,
            sequence=102,
            signature_number=43756,
            name="43756: ISAKMP: Invalid Payload Length",
            end_time=T0 + timedelta(seconds=1, milliseconds=999),
            src_ip="ffff:1:2:3:8000::1",
            dst_ip="::ffff:198.51.100.7",
            action=Action.RATE_LIMIT,
            action_set="Rate Limit 64 Kbps",
            extra={"tptPolicyNotifyRate": "64", "fe80scoped": "x"},
        ),
        Event(
            kind=EventKind.ALERT,
            collector="ingest",
            source_address="198.51.100.200",
            received_at=T0 + timedelta(seconds=3),
            sequence=103,
            name="no device",
            end_time=T0 + timedelta(seconds=3),
            src_ip="::1",
            dst_ip="255.255.255.255",
            action=Action.PERMIT,
            extra={"clientIp": "fe80::1%eth0", "xff": "01.2.3.4"},
        ),
        Event(
            kind=EventKind.QUARANTINE,
            collector="snmp-trap",
            source_address="192.0.2.10",
            received_at=T0 + timedelta(seconds=5),
            device_id=edge.id,
            src_ip="10.9.9.9",
            action=Action.QUARANTINE,
        ),
        Event(
            kind=EventKind.SYSTEM,
            collector="poller",
            source_address="127.0.0.1",
            received_at=T0 + timedelta(seconds=6),
            message="core-1 unreachable",
        ),
    ]
    with store.transaction() as tx:
        EventRows(tx.session).insert_many(events)
        catalog = Catalog(tx.session)
        catalog.record(catalog.learner().new_in(events))
    return Seeded(edge=edge.id, core=core.id)


def unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Enabled:
    """External access made for one test: its names, and the data behind it."""

    store: Store
    name: str  # as given (ExternalAccess_<hex>)
    container: str  # as the database has it
    user: str
    seeded: Seeded


@contextmanager
def enabled(store: Store, **options: object) -> Iterator[Enabled]:
    """Seed, enable external access under names of this test's own, and take it all
    away afterwards, whatever the test did."""
    seeded = seed(store)
    name, user = unique("ExternalAccess"), unique("reader")
    try:
        outcome = manage.enable(store, PASSWORD, user=user, name=name, **options)  # type: ignore[arg-type]
        yield Enabled(store, name, outcome.container, user, seeded)
    finally:
        manage.disable(store, user=user, name=name)


# -- the command-line clients --------------------------------------------------------------


def _server(store: Store) -> tuple[str, int]:
    url = make_url(store.url)
    return url.host or "127.0.0.1", url.port or (
        3306 if url.get_backend_name() != "postgresql" else 5432
    )


@dataclass(frozen=True)
class ClientAnswer:
    returncode: int
    rows: list[list[str]]  # the header row first
    stderr: str


def mariadb(store: Store, user: str, password: str, database: str | None, sql: str) -> ClientAnswer:
    """``sql`` through the `mariadb` client over TCP, tab-separated (--batch); the
    password in MYSQL_PWD, never on the command line."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    assert client, "the mariadb command-line client is not installed"
    host, port = _server(store)
    command = [client, "--protocol=TCP", "-h", host, "-P", str(port), "-u", user, "--batch"]
    if database:
        command.append(database)
    done = subprocess.run(
        [*command, "-e", sql],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MYSQL_PWD": password},
    )
    rows = list(csv.reader(io.StringIO(done.stdout), delimiter="\t", quoting=csv.QUOTE_NONE))
    return ClientAnswer(done.returncode, rows, done.stderr)


def psql(store: Store, user: str, password: str, sql: str) -> ClientAnswer:
    """``sql`` through `psql` as ``user`` on Garrison's database, as CSV."""
    client = shutil.which("psql")
    assert client, "psql is not installed"
    host, port = _server(store)
    database = make_url(store.url).database or ""
    done = subprocess.run(
        [
            client,
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            database,
            "--csv",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
        ],
        input=sql,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password},
    )
    return ClientAnswer(done.returncode, list(csv.reader(io.StringIO(done.stdout))), done.stderr)


def by_name(answer: ClientAnswer) -> list[dict[str, str]]:
    """The rows as dicts by column name (the mariadb client prints no header for none)."""
    if not answer.rows:
        return []
    header, *rows = answer.rows
    return [dict(zip(header, row, strict=True)) for row in rows]


# -- the command line, as `garrison` would have it -------------------------------------------


def garrison_cli() -> typer.Typer:
    """``garrison`` with ``external-db`` under it, as cli/main.py would register it."""
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(garrison_root)
    app.add_typer(externaldb_cli.app, name="external-db")
    return app
