"""`garrison responder` and `garrison responses`: policies from JSON files, checked with
errors that name the field; the response history; the remote commands' clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garrison.cli.responder import parse_duration
from tests.cli.cli_support import garrison, initialized_data_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return initialized_data_dir(tmp_path)


def write(tmp_path: Path, document: object) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_policies_round_trip_through_json_files(data_dir: Path, tmp_path: Path) -> None:
    policy = {
        "name": "Block scanners",
        "initiation": ["threshold", "manual"],
        "threshold": {"hits": 5, "period_seconds": 30},
        "initial_actions": [
            {"name": "syslog", "type": "syslog", "settings": {"host": "127.0.0.1"}}
        ],
    }
    created = garrison(data_dir, "responder", "create", write(tmp_path, policy))
    assert created.returncode == 0, created.stderr
    listed = garrison(data_dir, "responder", "list")
    assert "Block scanners" in listed.stdout and "Default Response (built in)" in listed.stdout
    shown = garrison(data_dir, "responder", "show", "Block scanners")
    document = json.loads(shown.stdout)
    assert document["threshold"]["hits"] == 5 and document["retrigger"] == "extend"
    document["threshold"]["hits"] = 9
    updated = garrison(data_dir, "responder", "update", "Block scanners", write(tmp_path, document))
    assert updated.returncode == 0, updated.stderr
    shown = json.loads(garrison(data_dir, "responder", "show", "Block scanners").stdout)
    assert shown["threshold"]["hits"] == 9
    assert garrison(data_dir, "responder", "delete", "Block scanners").returncode == 0
    assert "Block scanners" not in garrison(data_dir, "responder", "list").stdout
    audit = garrison(data_dir, "audit").stdout
    assert "policy.create" in audit and "policy.delete" in audit


def test_a_broken_policy_is_refused_naming_what_is_wrong(data_dir: Path, tmp_path: Path) -> None:
    broken = {
        "name": "Broken",
        "initial_actions": [
            {"name": "a", "type": "web", "depends_on": "b", "settings": {"url": "http://x/"}},
            {"name": "b", "type": "web", "depends_on": "a", "settings": {"url": "http://x/"}},
        ],
    }
    refused = garrison(data_dir, "responder", "create", write(tmp_path, broken))
    assert refused.returncode != 0
    assert "cycle: a -> b -> a" in refused.stderr
    not_json = tmp_path / "nope.json"
    not_json.write_text("{")
    refused = garrison(data_dir, "responder", "create", str(not_json))
    assert refused.returncode != 0 and "nope.json" in refused.stderr


def test_remote_commands_need_a_key_and_say_so(data_dir: Path) -> None:
    refused = garrison(data_dir, "responses", "open", "192.0.2.1")
    assert refused.returncode == 2
    assert "GARRISON_API_KEY" in refused.stderr
    history = garrison(data_dir, "responses", "list")
    assert history.returncode == 0 and "address" in history.stdout


def test_durations_read_as_an_operator_writes_them() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("15") == 900  # minutes, the SMS's unit
    assert parse_duration("none") is None
    with pytest.raises(Exception, match="use 90s"):
        parse_duration("soon")
