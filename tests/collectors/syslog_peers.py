"""What the syslog receiver tests share: the receivers started on free loopback ports, a
throwaway CA, and real peers (logger, rsyslogd) run with a time limit."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from garrison.collectors.syslog import SyslogTcpReceiver, SyslogTlsReceiver, SyslogUdpReceiver
from garrison.config import Settings
from garrison.events import Event, EventBus, Subscription
from garrison.metrics import Metrics
from tests.support import make_settings

DATA = Path(__file__).parent.parent / "data" / "syslog"
DEVICE_ID = 7  # what the test inventory says 127.0.0.1 is
PEER_TIMEOUT = 20.0


def lookup(address: str) -> int | None:
    return DEVICE_ID if address == "127.0.0.1" else None


def syslog_settings(data_dir: Path, **syslog: object) -> Settings:
    base: dict[str, object] = {"enabled": True, "udp": True, "tcp": True, "tls": True}
    base.update(syslog)
    return make_settings(
        data_dir,
        ports={"https": 0, "client-api": 0, "syslog-udp": 0, "syslog-tcp": 0, "syslog-tls": 0},
        syslog=base,
        tls={
            "certificate": str(data_dir / "pki" / "server.crt"),
            "key": str(data_dir / "pki" / "server.key"),
        },
    )


@dataclass
class Receivers:
    """The three receivers of one test, and a subscription to what they publish."""

    settings: Settings
    bus: EventBus
    metrics: Metrics
    subscription: Subscription
    udp: SyslogUdpReceiver
    tcp: SyslogTcpReceiver
    tls: SyslogTlsReceiver
    ca: Path
    seen: list[Event] = field(default_factory=list)

    async def events(
        self, count: int, timeout: float = 10.0, where: Callable[[Event], bool] = lambda e: True
    ) -> list[Event]:
        """Wait for ``count`` events that match ``where``; fail after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        matched = [e for e in self.seen if where(e)]
        while len(matched) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{len(matched)} of {count} events after {timeout}s: {matched}"
                )
            batch = await self.subscription.next_batch(timeout=remaining)
            self.seen += batch
            matched += [e for e in batch if where(e)]
        return matched

    async def quiet(self, seconds: float = 0.3) -> list[Event]:
        """Everything published within ``seconds`` (to show nothing more came)."""
        batch = await self.subscription.gather(10_000, seconds) if len(self.subscription) else []
        if not batch:
            batch = await self.subscription.next_batch(timeout=seconds)
        self.seen += batch
        return batch

    def dropped(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "garrison_syslog_dropped_total", {"reason": reason}
        )
        return value or 0.0

    def received(self, transport: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "garrison_syslog_received_total", {"transport": transport}
        )
        return value or 0.0


@contextlib.asynccontextmanager
async def started_receivers(
    data_dir: Path, log_interval: float = 60.0, **syslog: object
) -> AsyncIterator[Receivers]:
    ca = make_pki(data_dir / "pki")
    settings = syslog_settings(data_dir, **syslog)
    bus, metrics = EventBus(), Metrics()
    subscription = bus.subscribe("test")
    udp = SyslogUdpReceiver(settings, bus, metrics, lookup, log_interval=log_interval)
    tcp = SyslogTcpReceiver(settings, bus, metrics, lookup, log_interval=log_interval)
    tls = SyslogTlsReceiver(settings, bus, metrics, lookup, log_interval=log_interval)
    started: list[SyslogUdpReceiver | SyslogTcpReceiver | SyslogTlsReceiver] = []
    try:
        for receiver in (udp, tcp, tls):
            await receiver.start()
            started.append(receiver)
        yield Receivers(settings, bus, metrics, subscription, udp, tcp, tls, ca)
    finally:
        for receiver in reversed(started):
            await asyncio.wait_for(receiver.stop(), 10)


def make_pki(directory: Path) -> Path:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost;
    returns the CA certificate's path (server.crt and server.key are beside it)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Garrison test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    (directory / "server.crt").write_bytes(cert.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.crt"


async def run(argv: Sequence[str], timeout: float = PEER_TIMEOUT) -> str:
    """Run a peer to completion within ``timeout``; its output, or AssertionError."""
    env = {**os.environ, "TZ": "UTC"}  # BSD timestamps are local time: make them UTC
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{argv[0]} did not finish within {timeout}s") from None
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}: {text}"
    return text


def logger(port: int, *args: str, message: str) -> list[str]:
    """util-linux logger sending one message to 127.0.0.1:port."""
    return ["logger", "-n", "127.0.0.1", "-P", str(port), "--size", "8192", *args, message]


@dataclass
class Rsyslog:
    """rsyslogd in the foreground with a config of ours, stopped by its pidfile."""

    directory: Path
    config: str
    process: asyncio.subprocess.Process | None = None

    @property
    def pidfile(self) -> Path:
        return self.directory / "rsyslogd.pid"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "rsyslog.conf"
        conf.write_text(self.config)
        await run(["rsyslogd", "-N1", "-f", str(conf)])  # validate first
        self.process = await asyncio.create_subprocess_exec(
            "rsyslogd", "-n", "-f", str(conf), "-i", str(self.pidfile),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PEER_TIMEOUT
        while not self.pidfile.exists():
            if self.process.returncode is not None or loop.time() > deadline:
                err = b""
                if self.process.stderr is not None and self.process.returncode is not None:
                    err = await self.process.stderr.read()
                raise AssertionError(f"rsyslogd did not start: {err.decode(errors='replace')}")
            await asyncio.sleep(0.05)

    async def stop(self) -> str:
        """SIGTERM to the pid in the pidfile; its stderr."""
        if self.process is None:
            return ""
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(self.pidfile.read_text().strip()), signal.SIGTERM)
        try:
            _, err = await asyncio.wait_for(self.process.communicate(), PEER_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            _, err = await self.process.communicate()
        self.process = None
        return (err or b"").decode(errors="replace")


def free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
