"""Which ports this Garrison process is listening on right now, read from the kernel.

The port catalog says which services Garrison offers and the settings say on which port;
whether a listener is actually up (the syslog receiver may be turned off, a port may have
been taken) is the kernel's answer: the process's own sockets (``/proc/self/fd``) matched
by inode against the socket tables (``/proc/self/net/{tcp,tcp6,udp,udp6}``). A TCP socket
listens in state LISTEN; a UDP socket receives when it is bound and not connected. Only
sockets of this process count, so another program on the same port is not taken for
Garrison. Where ``/proc`` is missing (not Linux) the answer is None: unknown.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc/self")
TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"
TABLES = (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp"))


def _socket_inodes(proc: Path) -> set[str]:
    inodes = set()
    for fd in (proc / "fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed between the listing and the read
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _listening(line: str, transport: str) -> tuple[int, str] | None:
    """(local port, inode) of a socket table line that listens; None otherwise."""
    fields = line.split()
    if len(fields) < 10:
        return None
    local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
    if transport == "tcp" and state != TCP_LISTEN:
        return None
    if transport == "udp" and (state != UDP_UNCONNECTED or remote.split(":")[1] != "0000"):
        return None
    return int(local.rsplit(":", 1)[1], 16), inode


def listening(proc: Path = PROC) -> set[tuple[str, int]] | None:
    """The (transport, port) pairs this process listens on; None when unknown."""
    try:
        mine = _socket_inodes(proc)
    except OSError:
        return None
    found: set[tuple[str, int]] = set()
    for table, transport in TABLES:
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue  # no IPv6 on this host, say
        for line in lines:
            socket = _listening(line, transport)
            if socket is not None and socket[1] in mine:
                found.add((transport, socket[0]))
    return found
