"""`garrison devices`: the device inventory in the local database, and polling by hand."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, open_services, settings
from garrison.devices.model import AuthProtocol, DeviceState, PrivProtocol, SnmpVersion
from garrison.devices.poller import DevicePoller
from garrison.services import Services
from garrison.store.devices import DeviceRecord, HealthRecord

app = typer.Typer(
    help="Manage the devices Garrison polls and manages: address, SNMP v2c or v3 "
    "credentials, management access, groups.\n\n"
    "Secrets (community, SNMPv3 keys, management secret) are read from a file "
    "(--community-file and the like) or asked for, never taken from the command line, "
    "where other users could see them in the process list.",
    no_args_is_help=True,
)
groups_app = typer.Typer(help="Device groups: named sets of devices.", no_args_is_help=True)
app.add_typer(groups_app, name="groups")

ME = Principal.local_cli


def _secret(path: Path | None, prompt: str | None) -> str | None:
    """A secret from the first line of ``path``, or asked for (hidden) when ``prompt``."""
    if path is not None:
        lines = path.read_text().splitlines()
        return lines[0] if lines else ""
    if prompt is not None:
        return typer.prompt(prompt, hide_input=True)
    return None


def _device(svc: Services, name: str) -> DeviceRecord:
    return svc.devices.find_device(ME(), name)


def _group_id(svc: Services, group: str | None) -> int | None:
    return None if not group else svc.devices.find_group(ME(), group).id


def _fmt(value: float | int | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def _print_sample(name: str, sample: HealthRecord) -> None:
    colour = {"reachable": "green", "degraded": "yellow"}.get(sample.state, "red")
    console.print(
        f"{name}: [{colour}]{sample.state}[/]" + (f" ({sample.reason})" if sample.reason else "")
    )
    if sample.reachable:
        console.print(
            f"  rtt {_fmt(sample.rtt_ms, ' ms')}, cpu {_fmt(sample.cpu_percent, '%')}, "
            f"memory {_fmt(sample.memory_percent, '%')}, "
            f"uptime {_fmt(sample.uptime_seconds, ' s')}, "
            f"interfaces up {_fmt(sample.if_up)} / down {_fmt(sample.if_down)}"
            + (f", TRHA {sample.trha_state}" if sample.trha_state else "")
        )


@app.command("list")
def list_devices(
    ctx: typer.Context,
    group: str | None = typer.Option(None, help="Only devices of this group."),
    state: DeviceState | None = typer.Option(None, help="Only devices in this state."),
    name: str | None = typer.Option(None, help="Only devices whose name contains this."),
) -> None:
    """List devices with address, SNMP version, group, state and last poll."""
    with open_services(settings(ctx)) as svc:
        groups = {g.id: g.name for g in svc.devices.list_groups(ME())}
        devices = svc.devices.list_devices(
            ME(), group_id=_group_id(svc, group), state=state, name_contains=name, limit=None
        )
    table = Table("id", "name", "address", "snmp", "group", "state", "last poll", "model")
    for d in devices:
        polled = f"{d.last_polled_at:%Y-%m-%d %H:%M:%S}" if d.last_polled_at else "never"
        table.add_row(
            str(d.id),
            d.name,
            f"{d.address}:{d.snmp_port}",
            f"v{d.snmp_version}",
            groups.get(d.group_id or 0, ""),
            d.state,
            polled,
            d.model or d.sys_object_id,
        )
    console.print(table)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A unique name: letters, digits, . _ -"),
    address: str = typer.Argument(..., help="The device's IPv4 or IPv6 address."),
    snmp_version: SnmpVersion = typer.Option(SnmpVersion.V2C, "--snmp-version", help="2c or 3."),
    port: int = typer.Option(161, help="The device's SNMP port."),
    community_file: Path | None = typer.Option(
        None, help="v2c: read the community from this file's first line (else asked)."
    ),
    user: str | None = typer.Option(None, help="v3: the user name (required for v3)."),
    auth_protocol: AuthProtocol = typer.Option(AuthProtocol.SHA256, help="v3 authentication."),
    auth_key_file: Path | None = typer.Option(
        None, help="v3: read the auth passphrase (8+ characters) from this file (else asked)."
    ),
    priv_protocol: PrivProtocol = typer.Option(PrivProtocol.AES, help="v3 privacy (encryption)."),
    priv_key_file: Path | None = typer.Option(
        None, help="v3: read the privacy passphrase (8+ characters) from this file (else asked)."
    ),
    group: str | None = typer.Option(None, help="Put the device in this group."),
    location: str = typer.Option("", help="Where the device is, free text."),
    mgmt_url: str = typer.Option("", help="Base URL of its HTTPS management API."),
    mgmt_username: str = typer.Option("", help="User for the management API."),
    mgmt_secret_file: Path | None = typer.Option(
        None, help="Read the management API secret from this file."
    ),
) -> None:
    """Add a device.

    The server polls it from its next round; `garrison devices poll NAME` polls it now.
    """
    fields: dict[str, Any] = {
        "name": name,
        "address": address,
        "snmp_version": str(snmp_version),
        "snmp_port": port,
        "location": location,
        "mgmt_url": mgmt_url,
        "mgmt_username": mgmt_username,
    }
    if snmp_version is SnmpVersion.V2C:
        fields["snmp_community"] = _secret(community_file, "SNMP community")
    else:
        fields.update(
            snmp_user=user or typer.prompt("SNMPv3 user"),
            snmp_auth_protocol=str(auth_protocol),
            snmp_auth_key=_secret(auth_key_file, "SNMPv3 auth passphrase"),
            snmp_priv_protocol=str(priv_protocol),
            snmp_priv_key=_secret(priv_key_file, "SNMPv3 privacy passphrase"),
        )
    mgmt_secret = _secret(mgmt_secret_file, None)
    if mgmt_secret:
        fields["mgmt_secret"] = mgmt_secret
    with open_services(settings(ctx)) as svc:
        fields["group_id"] = _group_id(svc, group)
        device = svc.devices.create_device(ME(), **fields)
    console.print(
        f"[green]✓[/] added {device.name} ({device.address}, SNMP v{device.snmp_version})"
    )


@app.command("set")
def set_device(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The device to change."),
    new_name: str | None = typer.Option(None, "--name", help="Rename it."),
    address: str | None = typer.Option(None, help="New address."),
    snmp_version: SnmpVersion | None = typer.Option(None, "--snmp-version", help="2c or 3."),
    port: int | None = typer.Option(None, help="New SNMP port."),
    community_file: Path | None = typer.Option(None, help="New v2c community, from a file."),
    user: str | None = typer.Option(None, help="New v3 user."),
    auth_protocol: AuthProtocol | None = typer.Option(None, help="New v3 authentication."),
    auth_key_file: Path | None = typer.Option(None, help="New v3 auth passphrase, from a file."),
    priv_protocol: PrivProtocol | None = typer.Option(None, help="New v3 privacy protocol."),
    priv_key_file: Path | None = typer.Option(None, help="New v3 privacy passphrase, from a file."),
    group: str | None = typer.Option(None, help="Move it to this group ('' for none)."),
    location: str | None = typer.Option(None, help="New location."),
    mgmt_url: str | None = typer.Option(None, help="New management API URL."),
    mgmt_username: str | None = typer.Option(None, help="New management API user."),
    mgmt_secret_file: Path | None = typer.Option(None, help="New management secret, from a file."),
) -> None:
    """Change a device; only the options given change.

    Switching to v3 needs --user and both key files (or asks for the keys).
    """
    changes: dict[str, Any] = {}
    for key, value in (
        ("name", new_name),
        ("address", address),
        ("snmp_port", port),
        ("snmp_user", user),
        ("location", location),
        ("mgmt_url", mgmt_url),
        ("mgmt_username", mgmt_username),
        ("snmp_version", None if snmp_version is None else str(snmp_version)),
        ("snmp_auth_protocol", None if auth_protocol is None else str(auth_protocol)),
        ("snmp_priv_protocol", None if priv_protocol is None else str(priv_protocol)),
        ("snmp_community", _secret(community_file, None)),
        ("snmp_auth_key", _secret(auth_key_file, None)),
        ("snmp_priv_key", _secret(priv_key_file, None)),
        ("mgmt_secret", _secret(mgmt_secret_file, None)),
    ):
        if value is not None:
            changes[key] = value
    with open_services(settings(ctx)) as svc:
        device = _device(svc, name)
        if snmp_version is SnmpVersion.V3 and device.snmp_version != "3":
            changes.setdefault("snmp_user", user or typer.prompt("SNMPv3 user"))
            if "snmp_auth_key" not in changes:
                changes["snmp_auth_key"] = typer.prompt("SNMPv3 auth passphrase", hide_input=True)
            if "snmp_priv_key" not in changes:
                changes["snmp_priv_key"] = typer.prompt(
                    "SNMPv3 privacy passphrase", hide_input=True
                )
        v2c_now = snmp_version is SnmpVersion.V2C and device.snmp_version != "2c"
        if v2c_now and "snmp_community" not in changes:
            changes["snmp_community"] = typer.prompt("SNMP community", hide_input=True)
        if group is not None:
            changes["group_id"] = _group_id(svc, group)
        svc.devices.update_device(ME(), device.id, **changes)
    console.print(f"[green]✓[/] {name} updated")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The device to remove."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Remove a device and its health history."""
    if not yes:
        typer.confirm(f"Remove {name} and its health history?", abort=True)
    with open_services(settings(ctx)) as svc:
        svc.devices.delete_device(ME(), _device(svc, name).id)
    console.print(f"[green]✓[/] {name} removed")


@app.command("poll")
def poll(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Devices to poll; none polls every device."),
) -> None:
    """Poll devices over SNMP now and store the result.

    The poll runs from this host; a change of state is stored as the server's poller
    would store it. Exits 2 when a device is unreachable.
    """
    with open_services(settings(ctx)) as svc:
        devices = (
            [_device(svc, n) for n in names]
            if names
            else svc.devices.list_devices(ME(), limit=None)
        )
        poller = DevicePoller.of(svc)

        async def run() -> list[HealthRecord]:
            try:
                return list(await asyncio.gather(*(poller.poll_device(d) for d in devices)))
            finally:
                poller.client.close()

        samples = asyncio.run(run())
    for device, sample in zip(devices, samples, strict=True):
        _print_sample(device.name, sample)
    if any(not s.reachable for s in samples):
        raise typer.Exit(2)


@app.command("health")
def health(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The device."),
    limit: int = typer.Option(20, min=1, max=10_000, help="How many samples, newest first."),
) -> None:
    """Show a device's health history, newest first."""
    with open_services(settings(ctx)) as svc:
        device = _device(svc, name)
        samples = svc.devices.health_history(ME(), device.id, limit=limit)
    table = Table("at", "state", "rtt ms", "cpu %", "mem %", "uptime s", "if up/down", "reason")
    for s in samples:
        table.add_row(
            f"{s.at:%Y-%m-%d %H:%M:%S}",
            s.state,
            _fmt(s.rtt_ms),
            _fmt(s.cpu_percent),
            _fmt(s.memory_percent),
            _fmt(s.uptime_seconds),
            f"{_fmt(s.if_up)}/{_fmt(s.if_down)}",
            s.reason,
        )
    console.print(f"{device.name} ({device.address}) is {device.state}")
    console.print(table)


@groups_app.command("list")
def groups_list(ctx: typer.Context) -> None:
    """List device groups with their number of devices."""
    with open_services(settings(ctx)) as svc:
        groups = svc.devices.list_groups(ME())
    table = Table("id", "name", "devices", "description")
    for g in groups:
        table.add_row(str(g.id), g.name, str(g.device_count), g.description)
    console.print(table)


@groups_app.command("add")
def groups_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A unique name: letters, digits, . _ -"),
    description: str = typer.Option("", help="What the group is for."),
) -> None:
    """Add a device group."""
    with open_services(settings(ctx)) as svc:
        group = svc.devices.create_group(ME(), name=name, description=description)
    console.print(f"[green]✓[/] added group {group.name}")


@groups_app.command("remove")
def groups_remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The group to remove; its devices stay, ungrouped."),
) -> None:
    """Remove a device group (its devices are kept, without a group)."""
    with open_services(settings(ctx)) as svc:
        svc.devices.delete_group(ME(), svc.devices.find_group(ME(), name).id)
    console.print(f"[green]✓[/] removed group {name}")
