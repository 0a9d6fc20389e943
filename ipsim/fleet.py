"""N devices in one asyncio process: ports allocated from bases, each device's agent, notifier,
management server and background life (attacks at a rate, TRHA flaps, system log lines)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

import ipsim
from ipsim import certs
from ipsim.cef import CefNotifier, SyslogSender
from ipsim.device import TRHA_CONNECTED, TRHA_UNRESPONSIVE, DeviceState, Notifier, NullNotifier
from ipsim.identity import Identity, make_identity
from ipsim.management import Credentials, build_app
from ipsim.mib import MibView
from ipsim.snmp_agent import SnmpAgent
from ipsim.traffic import TrafficConfig
from ipsim.traps import TrapNotifier, TrapTarget
from ipsim.usm import UsmUser

log = logging.getLogger("ipsim.fleet")

TRANSPORTS = ("trap", "cef-udp", "cef-tcp", "none")
MAX_EVENTS_PER_TICK = 2000  # beyond this a device is overloaded and skips ahead

SYSTEM_LOG_LINES = (
    ("info", "Port {port} link up (10Gbps full duplex)"),
    ("info", "Memory utilization at {mem}%"),
    ("notice", "Digital Vaccine update check completed"),
    ("warning", "Port {port} link flap detected"),
    ("info", "SMS heartbeat received"),
    ("warning", "CPU utilization above 80% for 60 seconds"),
    ("info", "Configuration saved by SMS"),
)


@dataclass
class FleetConfig:
    devices: int = 1
    host: str = "127.0.0.1"
    snmp_base_port: int = 11161  # 0: any free port per device
    mgmt_base_port: int = 14443  # 0: any free port per device
    manager_host: str = "127.0.0.1"
    manager_port: int = 8162
    transport: str = "trap"
    snmp_version: str = "2c"  # of the traps; the agent answers both v2c and v3
    community: str = "public"  # may contain {name} or {index}
    trap_community: str = "public"
    v3_user: str = "ipsim"
    auth_protocol: str = "SHA-256"
    priv_protocol: str = "AES"
    auth_password: str | None = None  # None: derived per device from the seed
    priv_password: str | None = None
    seed: int = 1
    prefix: str = "ips"
    model: str | None = None
    trha: bool = True  # pair devices (0,1), (2,3), ... as transparent-HA partners
    trha_flaps_per_hour: float = 2.0
    syslog_per_hour: float = 12.0
    sms_name: str = "Garrison"
    traffic: TrafficConfig = field(default_factory=TrafficConfig)


@dataclass
class DevicePlan:
    """Everything about a device that is decided before anything binds."""

    index: int
    identity: Identity
    snmp_port: int
    mgmt_port: int
    community: str
    user: UsmUser
    creds: Credentials
    partner: str


def _derive(seed: int, index: int, purpose: str, length: int = 20) -> str:
    # Deterministic per (seed, device, purpose) so `fleet-file` and `run` agree.
    return hashlib.sha256(f"ipsim:{seed}:{index}:{purpose}".encode()).hexdigest()[:length]


def plan_fleet(config: FleetConfig) -> list[DevicePlan]:
    identities = [
        make_identity(i, prefix=config.prefix, model=config.model, seed=config.seed)
        for i in range(config.devices)
    ]
    plans = []
    for i, ident in enumerate(identities):
        partner_index = i ^ 1
        partner = (
            identities[partner_index].serial
            if config.trha and partner_index < len(identities)
            else ""
        )
        plans.append(
            DevicePlan(
                index=i,
                identity=ident,
                snmp_port=config.snmp_base_port + i if config.snmp_base_port else 0,
                mgmt_port=config.mgmt_base_port + i if config.mgmt_base_port else 0,
                community=config.community.format(name=ident.name, index=i),
                user=UsmUser(
                    config.v3_user,
                    config.auth_protocol,
                    config.auth_password or f"auth-{_derive(config.seed, i, 'auth', 16)}",
                    config.priv_protocol,
                    config.priv_password or f"priv-{_derive(config.seed, i, 'priv', 16)}",
                ),
                creds=Credentials(
                    token=_derive(config.seed, i, "token", 40),
                    username="admin",
                    password=_derive(config.seed, i, "password", 20),
                ),
                partner=partner,
            )
        )
    return plans


class SimDevice:
    """One running device: its state, SNMP agent, notifier, HTTPS server and background tasks."""

    def __init__(self, plan: DevicePlan, config: FleetConfig) -> None:
        self.plan = plan
        self.config = config
        self.state = DeviceState(
            plan.identity, seed=config.seed, traffic=config.traffic, ha_partner=plan.partner
        )
        self.agent = SnmpAgent(
            engine_id=plan.identity.engine_id,
            mib=MibView(self.state),
            community=plan.community,
            users=[plan.user],
        )
        self.rng = random.Random(f"{config.seed}:{plan.index}:life")
        self.snmp_port = plan.snmp_port
        self.mgmt_port = plan.mgmt_port
        self.cert_sha256 = ""
        self._udp: asyncio.DatagramTransport | None = None
        self._server: uvicorn.Server | None = None
        self._sockets: list[socket.socket] = []
        self._tasks: list[asyncio.Task] = []

    async def start(self, notifier: Notifier, cert_dir: Path | None) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: self.agent, local_addr=(self.config.host, self.plan.snmp_port)
        )
        self.snmp_port = self._udp.get_extra_info("sockname")[1]
        self.state.notifier = notifier
        if cert_dir is not None:
            await self._start_management(cert_dir)
        self.state.log(
            "info",
            f"System started: {self.plan.identity.model.name} TOS {self.plan.identity.tos_version}",
        )

    async def _start_management(self, cert_dir: Path) -> None:
        ident = self.plan.identity
        cert, key, self.cert_sha256 = certs.load_or_make(ident.name, self.config.host, cert_dir)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.plan.mgmt_port))
        sock.setblocking(False)
        self.mgmt_port = sock.getsockname()[1]
        self._sockets = [sock]
        config = uvicorn.Config(
            build_app(self.state, self.plan.creds),
            lifespan="off",
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
        )
        config.load()
        config.ssl = certs.server_context(cert, key)
        # startup() rather than serve(): serve() installs signal handlers and owns the loop,
        # and a fleet runs hundreds of servers under one signal handler of its own.
        self._server = uvicorn.Server(config)
        self._server.lifespan = config.lifespan_class(config)  # what serve() would have set
        await self._server.startup(sockets=self._sockets)

    def start_life(self) -> None:
        self._tasks = [
            asyncio.create_task(self._attacks(), name=f"{self.plan.identity.name}-attacks"),
            asyncio.create_task(self._housekeeping(), name=f"{self.plan.identity.name}-life"),
        ]

    async def _attacks(self) -> None:
        loop = asyncio.get_running_loop()
        gen = self.state.generator
        if gen.config.rate <= 0:
            return
        next_at = loop.time() + gen.interval()
        while True:
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            emitted = 0
            while next_at <= now and emitted < MAX_EVENTS_PER_TICK:
                self.state.record_attack()
                next_at += gen.interval()
                emitted += 1
            if emitted >= MAX_EVENTS_PER_TICK:
                next_at = now + gen.interval()

    async def _housekeeping(self) -> None:
        """Occasional TRHA flaps and system log lines, at their configured hourly rates."""
        flap_rate = self.config.trha_flaps_per_hour / 3600 if self.state.trha_enabled else 0.0
        log_rate = self.config.syslog_per_hour / 3600
        total = flap_rate + log_rate
        if total <= 0:
            return
        while True:
            await asyncio.sleep(self.rng.expovariate(total))
            if self.rng.random() < flap_rate / total:
                self.state.set_trha(TRHA_UNRESPONSIVE)
                await asyncio.sleep(self.rng.uniform(2, 15))
                self.state.set_trha(TRHA_CONNECTED)
            else:
                severity, text = self.rng.choice(SYSTEM_LOG_LINES)
                port = self.rng.choice(self.plan.identity.segment_ports())
                mem = round(100 * self.state.memory_used_kb() / self.state.memory_total_kb)
                self.state.log(severity, text.format(port=port, mem=mem))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            self._server.should_exit = True
            # Do not wait for idle keep-alive connections: a manager may hold one open
            # for minutes, and a stopping device drops its connections anyway.
            self._server.force_exit = True
            await self._server.shutdown(sockets=self._sockets)
        for sock in self._sockets:
            sock.close()
        if self._udp is not None:
            self._udp.close()

    def describe(self) -> dict:
        return describe_device(
            self.plan, self.config, self.snmp_port, self.mgmt_port, self.cert_sha256
        )


def describe_device(
    plan: DevicePlan, config: FleetConfig, snmp_port: int, mgmt_port: int, cert_sha256: str = ""
) -> dict:
    ident = plan.identity
    return {
        "name": ident.name,
        "serial": ident.serial,
        "uuid": ident.uuid,
        "model": ident.model.name,
        "sys_object_id": ".".join(map(str, ident.model.sys_object_id)),
        "address": config.host,
        "snmp": {
            "port": snmp_port,
            "community": plan.community,
            "v3": {
                "user": plan.user.name,
                "auth_protocol": plan.user.auth_protocol,
                "auth_password": plan.user.auth_password,
                "priv_protocol": plan.user.priv_protocol,
                "priv_password": plan.user.priv_password,
                "engine_id": ident.engine_id.hex(),
            },
        },
        "management": {
            "url": f"https://{config.host}:{mgmt_port}/api/v1",
            "port": mgmt_port,
            "token": plan.creds.token,
            "username": plan.creds.username,
            "password": plan.creds.password,
            "cert_sha256": cert_sha256 or None,
        },
        "trha_partner": plan.partner or None,
    }


def describe_fleet(config: FleetConfig, devices: list[dict]) -> dict:
    return {
        "ipsim_version": ipsim.__version__,
        "seed": config.seed,
        "generated_at": int(time.time()),
        "events": {
            "transport": config.transport,
            "destination": {"host": config.manager_host, "port": config.manager_port},
            "snmp_version": config.snmp_version,
            "trap_community": config.trap_community,
            "rate_per_device": config.traffic.rate,
        },
        "devices": devices,
    }


class Fleet:
    def __init__(
        self, config: FleetConfig, *, management: bool = True, cert_dir: Path | None = None
    ) -> None:
        self.config = config
        self.management = management
        # Certificates kept across runs when given; else made anew in a temporary folder.
        self.kept_cert_dir = cert_dir
        self.devices: list[SimDevice] = []
        self.sender: SyslogSender | None = None
        self._cert_dir: Path | None = None

    def _notifier(self, device: SimDevice) -> Notifier:
        cfg = self.config
        if cfg.transport == "trap":
            user = device.plan.user if cfg.snmp_version == "3" else None
            return TrapNotifier(
                device.agent,
                TrapTarget(cfg.manager_host, cfg.manager_port, cfg.trap_community, user),
            )
        if cfg.transport in ("cef-udp", "cef-tcp"):
            assert self.sender is not None
            return CefNotifier(self.sender, sms_name=cfg.sms_name)
        return NullNotifier()

    async def start(self) -> None:
        cfg = self.config
        if cfg.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        if cfg.transport.startswith("cef-"):
            self.sender = SyslogSender(
                cfg.manager_host, cfg.manager_port, cfg.transport.removeprefix("cef-")
            )
            await self.sender.start()
        if self.management and self.kept_cert_dir is None:
            self._cert_dir = Path(tempfile.mkdtemp(prefix="ipsim-certs-"))
        try:
            for plan in plan_fleet(cfg):
                device = SimDevice(plan, cfg)
                self.devices.append(device)
                cert_dir = self._cert_dir or (self.kept_cert_dir if self.management else None)
                await device.start(self._notifier(device), cert_dir)
        except BaseException:
            await self.stop()
            raise
        for device in self.devices:
            device.start_life()

    async def stop(self) -> None:
        await asyncio.gather(*(d.stop() for d in self.devices), return_exceptions=True)
        if self.sender is not None:
            await self.sender.stop()
        if self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)

    def describe(self) -> dict:
        return describe_fleet(self.config, [d.describe() for d in self.devices])
