"""FreeRADIUS as a real peer: the site's RADIUS server behind Garrison's proxy, and a
switch's dynamic-authorization listener (Disconnect / CoA) for the switch-disconnect
action; ``radclient`` plays the switch.

FreeRADIUS runs in the foreground (``-X``) from a copy of /etc/freeradius/3.0 in a
temporary folder, on free loopback ports, with our own site file, users and clients,
and is stopped by its PID. Its debug output is the record of what it received.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FREERADIUS = shutil.which("freeradius") or shutil.which("radiusd")
RADCLIENT = shutil.which("radclient")
SYSTEM_RADDB = Path("/etc/freeradius/3.0")
MISSING = (
    "FreeRADIUS is not installed (apt-get install -y freeradius freeradius-utils)"
    if not (FREERADIUS and RADCLIENT and SYSTEM_RADDB.is_dir())
    else ""
)
START_TIMEOUT = 20.0

# The users the site knows: a password user whose reply carries a Tunnel-Password (salt
# encrypted: it proves the proxy re-encrypts it for the switch), and a MAC-auth user.
USERS = """\
alice	Cleartext-Password := "secret1"
	Reply-Message = "hello alice",
	Framed-IP-Address = 10.1.2.3,
	Tunnel-Password = "tunnelpass123"

aa:bb:cc:dd:ee:01	Cleartext-Password := "aa:bb:cc:dd:ee:01"
	Reply-Message = "mac ok"
"""

# The dynamic-authorization listener's policy: it holds one session, that of
# AA-BB-CC-DD-EE-01 (Acct-Session-Id s1); any other gets a NAK with Error-Cause 503.
COA_POLICY = """\
		if (&Calling-Station-Id == "AA-BB-CC-DD-EE-01" || &Acct-Session-Id == "s1") {
			ok
		}
		else {
			update reply {
				&Error-Cause := Session-Context-Not-Found
			}
			reject
		}
"""

SITE = """\
clients dynamic_authorization_clients {{
	client garrison_dac {{
		ipaddr = 127.0.0.1
		secret = {coa_secret}
	}}
}}
server garrison_test {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {auth_port}
	}}
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {acct_port}
	}}
	listen {{
		type = coa
		ipaddr = 127.0.0.1
		port = {coa_port}
		clients = dynamic_authorization_clients
	}}
	authorize {{
		files
		pap
		chap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
		Auth-Type CHAP {{
			chap
		}}
	}}
	preacct {{
		ok
	}}
	accounting {{
		ok
	}}
	post-auth {{
		Post-Auth-Type REJECT {{
			attr_filter.access_reject
		}}
	}}
	recv-coa {{
{coa_policy}
	}}
	send-coa {{
		ok
	}}
}}
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FreeRadius:
    directory: Path
    auth_port: int
    acct_port: int
    coa_port: int
    secret: str  # what the proxy (client 127.0.0.1) shares with it for auth and acct
    coa_secret: str  # what the Disconnect/CoA sender shares with its coa listener
    process: subprocess.Popen[bytes]

    @property
    def log_path(self) -> Path:
        return self.directory / "freeradius.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def received(self, packet: str) -> int:
        """How many packets of a kind (``Access-Request``) it has received."""
        return len(re.findall(rf"\) Received {re.escape(packet)} Id ", self.log()))

    def request_blocks(self, packet: str) -> list[str]:
        """The debug text of each received ``packet``: its attributes, one per line."""
        blocks = re.split(r"\n(?=\(\d+\) Received )", self.log())
        return [block for block in blocks if re.match(rf"\(\d+\) Received {packet} ", block)]

    async def wait_for(self, packet: str, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.received(packet) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"FreeRADIUS received {self.received(packet)} {packet}")
            await asyncio.sleep(0.05)


@contextmanager
def freeradius(
    directory: Path,
    *,
    secret: str = "upstreamsecret",
    coa_secret: str = "switchsecret",
    users: str = USERS,
    coa_policy: str = COA_POLICY,
) -> Iterator[FreeRadius]:
    assert FREERADIUS and not MISSING, MISSING
    raddb = directory / "raddb"
    shutil.copytree(SYSTEM_RADDB, raddb, symlinks=True)
    # No EAP (it wants certificates made at install time), none of the stock sites.
    (raddb / "mods-enabled" / "eap").unlink(missing_ok=True)
    for site in (raddb / "sites-enabled").iterdir():
        site.unlink()
    (directory / "log").mkdir()
    (directory / "run").mkdir()
    conf = raddb / "radiusd.conf"
    text = conf.read_text()
    text = re.sub(r"(?m)^(\s*)(user|group) = ", r"\1#\2 = ", text)
    text = re.sub(r"(?m)^logdir = .*$", f"logdir = {directory / 'log'}", text)
    text = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {directory / 'run'}", text)
    # Rejects come at once, not after the default second's delay (a brute-force brake).
    text = re.sub(r"(?m)^(\s*)reject_delay = .*$", r"\1reject_delay = 0", text)
    conf.write_text(text)
    (raddb / "clients.conf").write_text(
        f"client garrison_proxy {{\n\tipaddr = 127.0.0.1\n\tsecret = {secret}\n}}\n"
    )
    (raddb / "mods-config" / "files" / "authorize").write_text(users)
    ports = {"auth_port": free_udp_port(), "acct_port": free_udp_port()}
    ports["coa_port"] = free_udp_port()
    (raddb / "sites-enabled" / "garrison").write_text(
        SITE.format(coa_secret=coa_secret, coa_policy=coa_policy, **ports)
    )
    log = (directory / "freeradius.log").open("wb")
    process = subprocess.Popen(
        [FREERADIUS, "-X", "-d", str(raddb), "-n", "radiusd"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    peer = FreeRadius(directory, secret=secret, coa_secret=coa_secret, process=process, **ports)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Ready to process requests" not in peer.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"FreeRADIUS did not start:\n{peer.log()[-3000:]}")
            time.sleep(0.05)
        yield peer
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log.close()


@dataclass
class RadclientResult:
    returncode: int
    output: str

    def received(self, packet: str) -> bool:
        return f"Received {packet} Id" in self.output

    @property
    def answered(self) -> bool:
        return "Received " in self.output


async def radclient(
    port: int,
    kind: str,
    secret: str,
    attributes: str,
    *,
    timeout: float = 1.0,
    tries: int = 1,
    extra: tuple[str, ...] = (),
) -> RadclientResult:
    """Run ``radclient`` as a switch would: send ``attributes`` (FreeRADIUS text form,
    one request per blank-line-separated block) to 127.0.0.1:``port``."""
    assert RADCLIENT and not MISSING, MISSING
    process = await asyncio.create_subprocess_exec(
        RADCLIENT,
        "-x",
        "-t",
        str(timeout),
        "-r",  # radclient's "retries" counts every transmission, the first included
        str(tries),
        *extra,
        f"127.0.0.1:{port}",
        kind,
        secret,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    limit = timeout * tries + 10
    output, _ = await asyncio.wait_for(process.communicate(attributes.encode()), limit)
    return RadclientResult(process.returncode or 0, output.decode(errors="replace"))
