"""/api/v1/devices and /api/v1/device-groups over the real HTTPS server."""

from __future__ import annotations

from garrison.auth import Principal
from tests.support import RunningServer

SECRET_WORDS = ("public-secret", "authpass123", "privpass123", "mgmt-secret-1")


def test_device_and_group_crud_never_echoes_secrets(server: RunningServer) -> None:
    with server.admin() as api:
        group = api.post("/api/v1/device-groups", json={"name": "edge", "description": "dmz"})
        assert group.status_code == 201, group.text
        group_id = group.json()["id"]
        created = api.post(
            "/api/v1/devices",
            json={
                "name": "ips1",
                "address": "127.0.0.1",
                "snmp_port": 9,
                "snmp_community": "public-secret",
                "group_id": group_id,
                "mgmt_url": "https://127.0.0.1:8443",
                "mgmt_username": "sms",
                "mgmt_secret": "mgmt-secret-1",
            },
        )
        assert created.status_code == 201, created.text
        device = created.json()
        assert device["has_community"] is True and device["has_mgmt_secret"] is True
        assert device["state"] == "unknown" and device["group_id"] == group_id
        device_id = device["id"]

        patched = api.patch(
            f"/api/v1/devices/{device_id}",
            json={
                "snmp_version": "3",
                "snmp_user": "u",
                "snmp_auth_key": "authpass123",
                "snmp_priv_key": "privpass123",
                "group_id": None,
            },
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert body["snmp_version"] == "3" and body["has_community"] is False
        assert body["has_auth_key"] and body["has_priv_key"] and body["group_id"] is None

        listed = api.get("/api/v1/devices", params={"name": "ips"})
        assert [d["name"] for d in listed.json()] == ["ips1"]
        assert api.get("/api/v1/devices", params={"state": "reachable"}).json() == []
        everything = " ".join(
            api.get(path).text
            for path in (f"/api/v1/devices/{device_id}", "/api/v1/devices", "/api/v1/audit")
        )
        for word in SECRET_WORDS:
            assert word not in everything

        groups = api.get("/api/v1/device-groups").json()
        assert groups[0]["name"] == "edge" and groups[0]["device_count"] == 0
        renamed = api.patch(f"/api/v1/device-groups/{group_id}", json={"name": "dmz"})
        assert renamed.json()["name"] == "dmz"

        assert api.delete(f"/api/v1/devices/{device_id}").status_code == 204
        assert api.get(f"/api/v1/devices/{device_id}").status_code == 404
        assert api.delete(f"/api/v1/device-groups/{group_id}").status_code == 204


def test_invalid_requests_are_refused_clearly(server: RunningServer) -> None:
    with server.admin() as api:
        cases = [
            {"name": "x", "address": "not-an-ip", "snmp_community": "c"},
            {"name": "x", "address": "10.0.0.1"},  # v2c without a community
            {
                "name": "x",
                "address": "10.0.0.1",
                "snmp_version": "3",
                "snmp_user": "u",
                "snmp_auth_key": "12345678",
            },  # no priv key
            {"name": "x", "address": "10.0.0.1", "snmp_community": "c", "colour": "red"},
            {"name": "x", "address": "10.0.0.1", "snmp_community": "c", "group_id": 77},
        ]
        answers = [api.post("/api/v1/devices", json=case).status_code for case in cases]
        assert answers == [422, 422, 422, 422, 404]
        api.post(
            "/api/v1/devices", json={"name": "x", "address": "10.0.0.1", "snmp_community": "c"}
        )
        again = api.post(
            "/api/v1/devices", json={"name": "x", "address": "10.0.0.2", "snmp_community": "c"}
        )
        assert again.status_code == 409
        assert api.patch("/api/v1/devices/1", json={"name": None}).status_code == 422


def test_poll_now_returns_the_sample_and_history_keeps_it(server: RunningServer) -> None:
    with server.admin() as api:
        created = api.post(
            "/api/v1/devices",
            json={
                "name": "silent",
                "address": "127.0.0.1",
                "snmp_port": 9,
                "snmp_community": "public",
            },
        )
        device_id = created.json()["id"]
        polled = api.post(f"/api/v1/devices/{device_id}/poll")
        assert polled.status_code == 200, polled.text
        sample = polled.json()
        assert sample["reachable"] is False and sample["state"] == "unreachable"
        assert sample["reason"].startswith("timeout:")
        history = api.get(f"/api/v1/devices/{device_id}/health").json()
        assert [h["state"] for h in history] == ["unreachable"]
        assert api.get(f"/api/v1/devices/{device_id}").json()["state"] == "unreachable"
        assert api.post("/api/v1/devices/999/poll").status_code == 404
        metrics = api.get("/metrics").text
        assert 'garrison_device_poll_failures_total{reason="timeout"}' in metrics
        assert "garrison_device_poll_duration_seconds_bucket" in metrics


def test_an_auditor_reads_devices_but_cannot_change_them(server: RunningServer) -> None:
    auth = server.services.auth
    user = auth.create_user(
        Principal.local_cli(), username="reader", password="a long passphrase 1", role="auditor"
    )
    key = auth.create_api_key(Principal.local_cli(), user_id=user.id, name="k")
    with server.client(key=key.secret) as api:
        assert api.get("/api/v1/devices").status_code == 200
        refused = api.post("/api/v1/device-groups", json={"name": "g"})
        assert refused.status_code == 403
