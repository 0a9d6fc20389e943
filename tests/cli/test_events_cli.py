"""`garrison events`: list, count, top, export and tail over the local database."""

from __future__ import annotations

import csv
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from garrison.events import Action, Severity
from garrison.store import Store
from garrison.store.events import EventRows
from tests.events.samples import alert, full_alert

GARRISON = [sys.executable, "-m", "garrison"]
ENV = {"PATH": "/usr/bin:/bin", "COLUMNS": "200"}


def garrison(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GARRISON, "--data-dir", str(data_dir), "events", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )


def add_events(data_dir: Path, events: list) -> None:  # type: ignore[type-arg]
    store = Store(f"sqlite:///{data_dir / 'garrison.db'}")
    try:
        with store.transaction() as tx:
            EventRows(tx.session).insert_many(events)
    finally:
        store.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("events-cli")
    (root / "pw").write_text("first superuser passphrase\n")
    result = subprocess.run(
        [*GARRISON, "--data-dir", str(root / "data"), "init", "--password-file", str(root / "pw")],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    add_events(
        root / "data",
        [
            alert(
                n,
                severity=Severity(1 + n % 4),
                src_ip=f"10.1.0.{n}",
                dst_ip="2001:db8::7",
                dst_port=443,
                signature_number=7000 + n % 3,
                name=f"filter {7000 + n % 3}",
                action=Action.BLOCK,
            )
            for n in range(40)
        ]
        + [full_alert()],
    )
    yield root / "data"


def test_list_count_and_top(data_dir: Path) -> None:
    listed = garrison(data_dir, "list", "--severity", "critical", "--src", "10.1.0.0/24", "-n", "3")
    assert listed.returncode == 0, listed.stderr
    assert "10.1.0.39" in listed.stdout and "10.1.0.35" in listed.stdout
    assert "10.1.0.38" not in listed.stdout  # severity major
    assert "2001:db8:85a3" not in listed.stdout  # outside the block

    counted = garrison(data_dir, "count", "--min-severity", "major", "--dst", "2001:db8::/32")
    assert counted.stdout.strip() == "20"

    top = garrison(data_dir, "top", "--by", "signature", "-n", "2", "--src", "10.0.0.0/8")
    assert top.returncode == 0, top.stderr
    lines = [line for line in top.stdout.splitlines() if "70" in line]
    assert "7000" in lines[0] and "14" in lines[0]
    assert "7001" in lines[1] and "13" in lines[1]


def test_a_bad_filter_is_one_line_naming_it(data_dir: Path) -> None:
    result = garrison(data_dir, "count", "--since", "yesterday")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: since:")
    assert "Traceback" not in result.stderr


def test_export_writes_every_matching_event(data_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "critical.csv"
    result = garrison(data_dir, "export", "--output", str(output), "--severity", "critical")
    assert result.returncode == 0, result.stderr
    assert "wrote 11 events" in result.stdout
    with output.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 11
    assert rows[0]["sequence"] == "3"  # oldest first
    assert rows[-1]["name"] == "43756: ISAKMP: Invalid Payload Length"


def test_tail_prints_the_last_lines(data_dir: Path) -> None:
    result = garrison(data_dir, "tail", "-n", "2", "--no-follow", "--src", "10.1.0.0/24")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "10.1.0.38" in lines[0] and "10.1.0.39" in lines[1]


def read_line(process: subprocess.Popen[str], seconds: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    assert selector.select(seconds), "no output in time"
    return process.stdout.readline()


def test_tail_follows_new_events(data_dir: Path) -> None:
    process = subprocess.Popen(
        [
            *GARRISON,
            "--data-dir",
            str(data_dir),
            "events",
            "tail",
            "-n",
            "1",
            "--kind",
            "device-log",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "PYTHONUNBUFFERED": "1"},
    )
    try:
        time.sleep(1.5)  # started and polling; nothing matches yet
        add_events(data_dir, [alert(900, kind="device-log", name="", message="fan 2 failed")])
        assert "fan 2 failed" in read_line(process, 20)
        add_events(
            data_dir, [alert(901), alert(902, kind="device-log", name="", message="fan 3 ok")]
        )
        assert "fan 3 ok" in read_line(process, 20)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


@pytest.mark.parametrize("command", ["list", "count", "top", "export", "tail"])
def test_every_command_documents_itself(command: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [*GARRISON, "events", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**ENV, "GARRISON_DATA_DIR": os.fspath(tmp_path)},
    )
    assert result.returncode == 0
    assert "--src" in result.stdout and "CIDR" in result.stdout
    assert f"events {command} [OPTIONS]" in result.stdout
