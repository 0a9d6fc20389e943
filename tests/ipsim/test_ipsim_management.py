"""The device's HTTPS JSON management API, driven with httpx against a running fleet."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import pytest

from ipsim.testing import FleetProcess
from ipsim.traffic import CATEGORY_CODES


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProcess]:
    with FleetProcess(
        tmp_path_factory.mktemp("mgmt"), "--devices", "2", "--rate", "50", "--transport", "none"
    ) as f:
        yield f


@pytest.fixture
def api(fleet: FleetProcess) -> Iterator[httpx.Client]:
    m = fleet.devices[0]["management"]
    with httpx.Client(
        base_url=m["url"],
        verify=False,
        headers={"Authorization": f"Bearer {m['token']}"},
        timeout=10,
    ) as client:
        yield client


def test_status(api: httpx.Client, fleet: FleetProcess) -> None:
    body = api.get("/status").json()
    device = fleet.devices[0]
    assert body["name"] == device["name"] and body["serial"] == device["serial"]
    assert body["model"] == device["model"] and body["sys_object_id"] == device["sys_object_id"]
    assert set(body["versions"]) == {"tos", "filter_package", "ipsim"}
    assert body["uptime_seconds"] > 0 and 1 <= body["cpu_percent"] <= 99
    assert 0 < body["memory"]["used_kb"] < body["memory"]["total_kb"]
    assert body["trha"] == {
        "enabled": True,
        "state": 2,
        "state_name": "connected",
        "partner": fleet.devices[1]["serial"],
    }
    assert body["profile"]["name"] and body["filter_package"]["version"]
    assert body["snmp_engine_id"] == device["snmp"]["v3"]["engine_id"]


def test_auth_is_required_and_basic_works(fleet: FleetProcess) -> None:
    m = fleet.devices[0]["management"]
    with httpx.Client(base_url=m["url"], verify=False, timeout=10) as client:
        assert client.get("/status").status_code == 401
        assert client.get("/status", headers={"Authorization": "Bearer nope"}).status_code == 401
        other = fleet.devices[1]["management"]["token"]
        assert (
            client.get("/status", headers={"Authorization": f"Bearer {other}"}).status_code == 401
        )
        assert client.get("/status", auth=(m["username"], m["password"])).status_code == 200


def test_certificate_is_the_one_announced(fleet: FleetProcess) -> None:
    import socket
    import ssl

    m = fleet.devices[0]["management"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", m["port"]), timeout=5) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert hashlib.sha256(der).hexdigest() == m["cert_sha256"]


def test_apply_profile_changes_actions(api: httpx.Client) -> None:
    bad = api.post("/profile", json={"name": "P", "filters": {"7610": "Explode"}})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_profile"
    every = dict.fromkeys(CATEGORY_CODES, "Permit")
    applied = api.post(
        "/profile", json={"name": "Permit All", "version": "2.1", "categories": every}
    )
    assert applied.status_code == 200
    assert applied.json()["profile"]["name"] == "Permit All"
    last = api.get("/status").json()["events"]["last_seq"]
    time.sleep(0.5)
    newer = api.get("/events", params={"since": last}).json()["events"]
    assert newer and all(e["action"] == "Permit" and e["profile"] == "Permit All" for e in newer)
    assert api.get("/status").json()["profile"]["version"] == "2.1"


def test_filter_package_hash_is_checked(api: httpx.Client) -> None:
    package = b"DV package " * 10_000
    good = hashlib.sha256(package).hexdigest()
    headers = {"Content-Type": "application/octet-stream"}
    wrong = api.post(
        "/filter-package",
        params={"version": "4.0.0.9999", "sha256": "0" * 64},
        content=package,
        headers=headers,
    )
    assert wrong.status_code == 422 and wrong.json()["actual"] == good
    assert api.get("/status").json()["versions"]["filter_package"] != "4.0.0.9999"
    ok = api.post(
        "/filter-package",
        params={"version": "4.0.0.9999", "sha256": good},
        content=package,
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["filter_package"] | {"installed_ns": 0} == {
        "version": "4.0.0.9999",
        "sha256": good,
        "size": len(package),
        "installed_ns": 0,
    }
    assert api.get("/status").json()["versions"]["filter_package"] == "4.0.0.9999"
    assert api.post("/filter-package", params={"version": "x"}, content=b"x").status_code == 400


def test_quarantine_add_list_remove(api: httpx.Client) -> None:
    assert api.post("/quarantine", json={"ip": "not-an-ip"}).status_code == 422
    first = api.post("/quarantine", json={"ip": "203.0.113.9", "reason": "test"})
    assert first.status_code == 201 and first.json()["created"] is True
    again = api.post("/quarantine", json={"ip": "203.0.113.9"})
    assert again.status_code == 200 and again.json()["created"] is False
    hosts = api.get("/quarantine").json()["hosts"]
    assert [h["ip"] for h in hosts] == ["203.0.113.9"] and hosts[0]["reason"] == "test"
    assert api.delete("/quarantine/203.0.113.9").status_code == 200
    assert api.delete("/quarantine", params={"ip": "203.0.113.9"}).status_code == 404
    assert api.get("/quarantine").json()["hosts"] == []
    log = api.get("/system-log").json()["entries"]
    assert any("203.0.113.9 added" in e["text"] for e in log)


def test_events_since_sequence(api: httpx.Client) -> None:
    time.sleep(0.3)
    page = api.get("/events", params={"since": 0, "limit": 5}).json()
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == list(range(page["oldest_seq"], page["oldest_seq"] + 5))
    assert page["next_since"] == seqs[-1] and page["more"] is True
    rest = api.get("/events", params={"since": page["next_since"], "limit": 10_000}).json()
    assert rest["events"][0]["seq"] == seqs[-1] + 1
    event = rest["events"][0]
    assert event["type"] == "policy" and event["severity"] in {"Low", "Minor", "Major", "Critical"}
    assert {"src_ip", "dst_ip", "filter_number", "filter_name", "action", "time_ns"} <= set(event)
    assert api.get("/events", params={"since": 10**12}).json()["events"] == []
    assert api.get("/events", params={"limit": 0}).status_code == 400
