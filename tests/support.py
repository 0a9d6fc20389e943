"""Helpers the tests share: settings in a temporary data directory and a real Garrison
HTTPS server on free loopback ports, in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from garrison.auth import Principal, Role
from garrison.bootstrap import initialize
from garrison.config import Settings, load_settings
from garrison.ports import listeners
from garrison.server.compose import build_components
from garrison.server.runner import start_all, stop_all
from garrison.services import Services

ADMIN_PASSWORD = "correct horse battery staple"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 45.0) -> Any:
    """Call ``check`` until it returns something true, and return that; fail saying
    ``what`` did not happen if it does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def quarantine_list(device: dict[str, Any]) -> set[str]:
    """An ipsim device's quarantine list (a device of ``FleetProcess.fleet["devices"]``),
    asked over its management API without Garrison's code."""
    management = device["management"]
    answer = httpx.get(
        f"{management['url']}/quarantine",
        headers={"Authorization": f"Bearer {management['token']}"},
        verify=False,
        timeout=10,
    )
    answer.raise_for_status()
    return {host["ip"] for host in answer.json()["hosts"]}


def add_fleet_devices(
    api: httpx.Client, devices: list[dict[str, Any]], *, management: bool = False
) -> None:
    """Add ipsim devices (``FleetProcess.fleet["devices"]``) to Garrison's inventory over
    the API, polled over SNMP; with ``management``, also reachable over their management
    API, their certificates pinned."""
    for device in devices:
        body = {
            "name": device["name"],
            "address": device["address"],
            "snmp_port": device["snmp"]["port"],
            "snmp_community": device["snmp"]["community"],
        }
        if management:
            m = device["management"]
            body["mgmt_url"] = f"{m['url']}#sha256={m['cert_sha256']}"
            body["mgmt_secret"] = m["token"]
        created = api.post("/api/v1/devices", json=body)
        assert created.status_code == 201, created.text


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        # Every listener on a free port, so test servers never collide.
        "ports": {entry.key: 0 for entry in listeners()},
        "server": {"host": "127.0.0.1", "shutdown_grace_seconds": 3},
    }
    for key, value in overrides.items():
        base[key] = value
    return load_settings(data_dir=data_dir, environ={}, overrides=base)


@dataclass
class RunningServer:
    """A Garrison started in a thread of its own, on real TLS sockets."""

    services: Services
    ports: dict[str, int]
    api_key: str

    def url(self, listener: str = "https") -> str:
        return f"https://127.0.0.1:{self.ports[listener]}"

    def client(self, listener: str = "https", *, key: str | None = None) -> httpx.Client:
        headers = {"X-SMS-API-KEY": key} if key else {}
        return httpx.Client(base_url=self.url(listener), verify=False, headers=headers, timeout=10)

    def admin(self, listener: str = "https") -> httpx.Client:
        return self.client(listener, key=self.api_key)


def start_server(settings: Settings) -> Iterator[RunningServer]:
    initialize(settings, admin_password=ADMIN_PASSWORD)
    services = Services.open(settings)
    with services.store.transaction() as tx:
        admin = tx.users.by_name("admin")
    assert admin is not None and admin.role == Role.SUPERUSER
    key = services.auth.create_api_key(Principal.local_cli(), user_id=admin.id, name="tests")
    components = build_components(services)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            await start_all(components)
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        await stop.wait()
        await stop_all(components)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30), "server did not start within 30 s"
    if failure:
        raise failure[0]
    try:
        yield RunningServer(
            services=services,
            # Listeners have a port; bus consumers such as the event writer do not.
            ports={c.name: c.port for c in components if isinstance(getattr(c, "port", None), int)},
            api_key=key.secret,
        )
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
        services.close()
