"""`python -m ipsim`: run a fleet of emulated IPS devices, or print the fleet's description."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

import typer

from ipsim import fleet as fleet_mod
from ipsim.identity import MODELS
from ipsim.traffic import ACTIONS, TrafficConfig

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="ipsim: an IPS device emulator for Garrison.",
)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _mix(text: str | None) -> dict[str, float] | None:
    """'Block=6,Permit=3,Rate Limit=1' -> weights."""
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ACTIONS:
            raise typer.BadParameter(f"action must be one of {ACTIONS}")
        out[name.strip()] = float(weight)
    return out


def _severities(text: str | None) -> dict[str, float]:
    weights = {"Low": 1.0, "Minor": 1.0, "Major": 1.0, "Critical": 1.0}
    for part in (text or "").split(","):
        if part:
            name, _, weight = part.partition("=")
            if name not in weights:
                raise typer.BadParameter("severities are Low, Minor, Major, Critical")
            weights[name] = float(weight)
    return weights


def build_config(
    devices: int,
    host: str,
    snmp_base_port: int,
    mgmt_base_port: int,
    manager: str,
    transport: str,
    snmp_version: str,
    rate: float,
    seed: int,
    community: str,
    trap_community: str,
    v3_user: str,
    auth_password: str | None,
    priv_password: str | None,
    prefix: str,
    model: str | None,
    sources: str,
    targets: str,
    action_mix: str | None,
    severity_weights: str | None,
    trha_flaps_per_hour: float,
    syslog_per_hour: float,
    trace_fraction: float = TrafficConfig.trace_fraction,
) -> fleet_mod.FleetConfig:
    if transport not in fleet_mod.TRANSPORTS:
        raise typer.BadParameter(f"--transport must be one of {fleet_mod.TRANSPORTS}")
    if snmp_version not in ("2c", "3"):
        raise typer.BadParameter("--snmp-version must be 2c or 3")
    if model is not None and model not in MODELS:
        raise typer.BadParameter(f"--model must be one of {sorted(MODELS)}")
    manager_host, manager_port = _host_port(manager)
    return fleet_mod.FleetConfig(
        devices=devices,
        host=host,
        snmp_base_port=snmp_base_port,
        mgmt_base_port=mgmt_base_port,
        manager_host=manager_host,
        manager_port=manager_port,
        transport=transport,
        snmp_version=snmp_version,
        community=community,
        trap_community=trap_community,
        v3_user=v3_user,
        auth_password=auth_password,
        priv_password=priv_password,
        seed=seed,
        prefix=prefix,
        model=model,
        trha_flaps_per_hour=trha_flaps_per_hour,
        syslog_per_hour=syslog_per_hour,
        traffic=TrafficConfig(
            rate=rate,
            sources=tuple(s.strip() for s in sources.split(",") if s.strip()),
            targets=tuple(t.strip() for t in targets.split(",") if t.strip()),
            action_mix=_mix(action_mix),
            severity_weights=_severities(severity_weights),
            trace_fraction=trace_fraction,
        ),
    )


# Options shared by `run` and `fleet-file`, so both describe the same fleet.
DEVICES = typer.Option(1, min=1, max=5000, help="How many devices to play.")
HOST = typer.Option("127.0.0.1", help="Address every device binds.")
SNMP_BASE = typer.Option(
    11161, min=0, max=65535, help="Device i's SNMP agent port is base+i (0: any free port)."
)
MGMT_BASE = typer.Option(
    14443, min=0, max=65535, help="Device i's HTTPS port is base+i (0: any free port)."
)
MANAGER = typer.Option(
    "127.0.0.1:8162", help="Where events go: the trap receiver or the syslog collector."
)
TRANSPORT = typer.Option("trap", help="trap | cef-udp | cef-tcp | none")
SNMP_VERSION = typer.Option(
    "2c", help="Trap version: 2c, or 3 (authPriv with each device's v3 user)."
)
RATE = typer.Option(5.0, min=0, help="Attack events per second per device (Poisson arrivals).")
SEED = typer.Option(1, help="Seeds identities, credentials and traffic; same seed, same fleet.")
COMMUNITY = typer.Option("public", help="SNMP read community; may contain {name} or {index}.")
TRAP_COMMUNITY = typer.Option("public", help="Community of v2c traps.")
V3_USER = typer.Option("ipsim", help="SNMPv3 user name (SHA-256 auth, AES-128 priv).")
AUTH_PW = typer.Option(
    None, help="v3 auth password for every device (default: derived per device)."
)
PRIV_PW = typer.Option(
    None, help="v3 priv password for every device (default: derived per device)."
)
PREFIX = typer.Option("ips", help="Device names are PREFIX-001, PREFIX-002, ...")
MODEL = typer.Option(
    None, help=f"One model for all devices (default: a mix). One of: {', '.join(MODELS)}"
)
SOURCES = typer.Option(
    "198.51.100.0/24,203.0.113.0/24,45.155.204.0/22", help="Attacker CIDRs, comma-separated."
)
TARGETS = typer.Option("10.10.0.0/20", help="Protected CIDRs, comma-separated.")
ACTION_MIX = typer.Option(
    None, help="Override filters' actions, e.g. 'Block=6,Permit=3,Rate Limit=1'."
)
SEVERITY_WEIGHTS = typer.Option(None, help="Thin severities, e.g. 'Low=0.2,Critical=1'.")
FLAPS = typer.Option(2.0, min=0, help="TRHA flaps per device per hour (paired devices only).")
SYSLOG = typer.Option(12.0, min=0, help="System log lines per device per hour.")
TRACES = typer.Option(
    TrafficConfig.trace_fraction,
    min=0,
    max=1,
    help="Share of events with a packet trace, kept by the device and served as pcap.",
)


@app.command()
def run(
    devices: int = DEVICES,
    host: str = HOST,
    snmp_base_port: int = SNMP_BASE,
    mgmt_base_port: int = MGMT_BASE,
    manager: str = MANAGER,
    transport: str = TRANSPORT,
    snmp_version: str = SNMP_VERSION,
    rate: float = RATE,
    seed: int = SEED,
    community: str = COMMUNITY,
    trap_community: str = TRAP_COMMUNITY,
    v3_user: str = V3_USER,
    auth_password: str | None = AUTH_PW,
    priv_password: str | None = PRIV_PW,
    prefix: str = PREFIX,
    model: str | None = MODEL,
    sources: str = SOURCES,
    targets: str = TARGETS,
    action_mix: str | None = ACTION_MIX,
    severity_weights: str | None = SEVERITY_WEIGHTS,
    trha_flaps_per_hour: float = FLAPS,
    syslog_per_hour: float = SYSLOG,
    trace_fraction: float = TRACES,
    management: bool = typer.Option(True, help="Serve the HTTPS management API."),
    write_fleet: Path | None = typer.Option(
        None, help="Once every device listens, write the fleet JSON here."
    ),
    cert_dir: Path | None = typer.Option(
        None,
        help="Keep the devices' management certificates here and reuse them on the next "
        "run (a manager that pinned them keeps trusting the devices). Default: new ones "
        "in a temporary folder.",
    ),
    duration: float = typer.Option(
        0, min=0, help="Stop after this many seconds (0: until SIGTERM/SIGINT)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the fleet until SIGTERM or SIGINT."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    config = build_config(
        devices,
        host,
        snmp_base_port,
        mgmt_base_port,
        manager,
        transport,
        snmp_version,
        rate,
        seed,
        community,
        trap_community,
        v3_user,
        auth_password,
        priv_password,
        prefix,
        model,
        sources,
        targets,
        action_mix,
        severity_weights,
        trha_flaps_per_hour,
        syslog_per_hour,
        trace_fraction,
    )
    asyncio.run(_run(config, management, write_fleet, duration, cert_dir))


async def _run(
    config: fleet_mod.FleetConfig,
    management: bool,
    write_fleet: Path | None,
    duration: float,
    cert_dir: Path | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    fleet = fleet_mod.Fleet(config, management=management, cert_dir=cert_dir)
    started = loop.time()
    await fleet.start()
    description = fleet.describe()
    if write_fleet is not None:
        # Write then rename: a reader polling for the file never sees half of it.
        tmp = write_fleet.with_name(write_fleet.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(description, indent=2))
        tmp.replace(write_fleet)
    logging.getLogger("ipsim").info(
        "%d devices up in %.2fs; events: %s to %s:%d",
        len(fleet.devices),
        loop.time() - started,
        config.transport,
        config.manager_host,
        config.manager_port,
    )
    try:
        if duration:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
        else:
            await stop.wait()
    finally:
        await fleet.stop()
        logging.getLogger("ipsim").info("stopped")


@app.command("fleet-file")
def fleet_file(
    devices: int = DEVICES,
    host: str = HOST,
    snmp_base_port: int = SNMP_BASE,
    mgmt_base_port: int = MGMT_BASE,
    manager: str = MANAGER,
    transport: str = TRANSPORT,
    snmp_version: str = SNMP_VERSION,
    rate: float = RATE,
    seed: int = SEED,
    community: str = COMMUNITY,
    trap_community: str = TRAP_COMMUNITY,
    v3_user: str = V3_USER,
    auth_password: str | None = AUTH_PW,
    priv_password: str | None = PRIV_PW,
    prefix: str = PREFIX,
    model: str | None = MODEL,
    write: Path | None = typer.Option(None, help="Write the JSON to this file instead of stdout."),
) -> None:
    """Print the fleet `run` would start with these options: names, ports, credentials."""
    config = build_config(
        devices,
        host,
        snmp_base_port,
        mgmt_base_port,
        manager,
        transport,
        snmp_version,
        rate,
        seed,
        community,
        trap_community,
        v3_user,
        auth_password,
        priv_password,
        prefix,
        model,
        ",".join(TrafficConfig().sources),
        ",".join(TrafficConfig().targets),
        None,
        None,
        0,
        0,
    )
    described = [
        fleet_mod.describe_device(p, config, p.snmp_port, p.mgmt_port)
        for p in fleet_mod.plan_fleet(config)
    ]
    text = json.dumps(fleet_mod.describe_fleet(config, described), indent=2)
    if write is None:
        sys.stdout.write(text + "\n")
    else:
        write.write_text(text + "\n")


if __name__ == "__main__":
    app()
