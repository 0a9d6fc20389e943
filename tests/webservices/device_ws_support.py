"""Helpers of the Web service tests that reach devices (pcaps, deviceAdmin): an unreachable
device."""

from __future__ import annotations

import socket
from typing import Any

import httpx

from ipsim.testing import free_port


def add_unreachable_device(api: httpx.Client, name: str, **more: Any) -> dict[str, Any]:
    """A device whose management API nobody answers (a closed loopback port)."""
    body = {
        "name": name,
        "address": "127.0.0.1",
        "mgmt_url": f"https://127.0.0.1:{free_port(socket.SOCK_STREAM)}/api/v1#verify=off",
        "mgmt_secret": "token-of-a-device-that-is-off",
        "snmp_community": "public",
        **more,
    }
    created = api.post("/api/v1/devices", json=body)
    assert created.status_code == 201, created.text
    return created.json()
