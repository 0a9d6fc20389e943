"""SMTP servers that are not ours for the email action's tests: aiosmtpd's Controller on a
free loopback port, with STARTTLS (a throwaway CA's certificate), AUTH, and a handler
that keeps what arrives and refuses the mailboxes it is told to; and Exim, a Debian MTA,
with STARTTLS and AUTH PLAIN from one config file."""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import os
import shutil
import signal
import socket
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.collectors.syslog_peers import make_pki

USER, PASSWORD = "alice", "s3cret pass"


@dataclass
class Received:
    """One mail as the server saw it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool  # the session had done STARTTLS
    authenticated: bool


@dataclass
class Recorder:
    """aiosmtpd handler: keeps each mail, refuses the recipients in ``refuse``."""

    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)  # user names of AUTH attempts
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,
                    tls=session.ssl is not None,
                    authenticated=bool(session.authenticated),
                )
            )
        return "250 2.0.0 queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        with self.lock:
            self.logins.append(data.login.decode())
        ok = (data.login.decode(), data.password.decode()) == (USER, PASSWORD)
        # handled=False: aiosmtpd answers a failure itself (535).
        return AuthResult(success=ok, handled=False)


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_tls(pki: Path) -> ssl.SSLContext:
    """The STARTTLS context of the test server (make_pki's server certificate)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    return context


@contextlib.contextmanager
def smtp_server(
    recorder: Recorder,
    *,
    tls: ssl.SSLContext | None = None,
    auth: bool = False,
    auth_require_tls: bool = True,
) -> Iterator[int]:
    """aiosmtpd on a free loopback port (its own thread and loop); yields the port."""
    kwargs: dict[str, Any] = {"auth_require_tls": auth_require_tls}
    if tls is not None:
        kwargs["tls_context"] = tls
    if auth:
        kwargs["authenticator"] = recorder.authenticate
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_tcp_port(), ready_timeout=10, **kwargs
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


# --- Exim (exim4-daemon-light): a Debian MTA with STARTTLS and AUTH PLAIN -------------

EXIM_CONFIG = """\
primary_hostname = mx.garrison-test.example
spool_directory = @WORK@/spool
log_file_path = @WORK@/log/%slog
pid_file_path = @WORK@/exim.pid
daemon_smtp_ports = @PORT@
local_interfaces = 127.0.0.1
# Run as root here (a test), deliver as nobody (exim never delivers as root).
exim_user = root
exim_group = root
never_users =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts = *
tls_certificate = @WORK@/pki/server.crt
tls_privatekey = @WORK@/pki/server.key
# AUTH only once the session is encrypted.
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
domainlist local_domains = example.net
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  deny    local_parts = nobody
          message = no such mailbox here
  accept  domains = +local_domains
  deny    message = relay not permitted

begin routers
local:
  driver = accept
  domains = +local_domains
  transport = to_file

begin transports
to_file:
  driver = appendfile
  file = @MAIL@/inbox
  user = nobody
  group = nogroup
  mode = 0644
  envelope_to_add = true

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{@USER@}}{eq{$auth3}{@PASSWORD@}}}}
  server_set_id = $auth2
"""


@dataclass
class Exim:
    """exim4 in the foreground (-bdf) with a config of ours; stopped by its pidfile.
    Mail for example.net goes to one mbox file, ``inbox``."""

    work: Path
    mail: Path  # world-writable: the delivery runs as nobody
    port: int = 0
    process: asyncio.subprocess.Process | None = None

    @property
    def inbox(self) -> Path:
        return self.mail / "inbox"

    async def start(self) -> None:
        for sub in ("spool", "log"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)
        self.port = free_tcp_port()
        make_pki(self.work / "pki")
        conf = self.work / "exim.conf"
        text = EXIM_CONFIG
        for token, value in (
            ("@WORK@", str(self.work)), ("@PORT@", str(self.port)), ("@MAIL@", str(self.mail)),
            ("@USER@", USER), ("@PASSWORD@", PASSWORD),
        ):  # fmt: skip
            text = text.replace(token, value)
        conf.write_text(text)
        self.process = await asyncio.create_subprocess_exec(
            "exim4", "-C", str(conf), "-bdf", "-q30m",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while True:  # ready when it accepts a connection
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                if self.process.returncode is not None or loop.time() > deadline:
                    await self.stop()
                    raise AssertionError(f"exim did not start: {self.log()}") from None
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is None:
            return
        pidfile = self.work / "exim.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.process = None

    def log(self) -> str:
        logs = [self.work / "log" / name for name in ("mainlog", "paniclog")]
        return "\n".join(p.read_text(errors="replace") for p in logs if p.exists())

    async def wait_mail(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """The first ``count`` mails delivered to the inbox; fail after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = self._messages()
            if len(messages) >= count:
                return messages[:count]
            if loop.time() > deadline:
                raise AssertionError(f"{len(messages)} of {count} mails: {self.log()}")
            await asyncio.sleep(0.05)

    def _messages(self) -> list[EmailMessage]:
        if not self.inbox.exists():
            return []
        box = mailbox.mbox(self.inbox, factory=None, create=False)
        try:
            return [
                message_from_bytes(box.get_bytes(key), policy=policy.default)
                for key in box.iterkeys()
            ]
        finally:
            box.close()


@contextlib.asynccontextmanager
async def exim_server(work: Path) -> AsyncIterator[Exim]:
    mail = Path(tempfile.mkdtemp(prefix="garrison-exim-"))
    mail.chmod(0o1777)
    exim = Exim(work, mail)
    try:
        await exim.start()
        yield exim
    finally:
        await exim.stop()
        shutil.rmtree(mail, ignore_errors=True)
