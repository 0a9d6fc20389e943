"""Binding listening sockets, with one clear line when a port cannot be had."""

from __future__ import annotations

import errno
import os
import socket

# A burst from a fleet arrives faster than one loop turn reads it; a large kernel buffer
# rides it out instead of losing datagrams.
DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024


class ListenerError(Exception):
    """A listener cannot start; the message names the port and what to do."""


def _refused(exc: OSError, name: str, where: str) -> ListenerError:
    if exc.errno == errno.EADDRINUSE:
        hint = f"another process holds it; stop it or set [ports] {name} in garrison.toml"
    elif exc.errno == errno.EACCES:
        hint = 'ports below 1024 need root; set [server] low_ports = "shift"'
    else:
        hint = exc.strerror or str(exc)
    return ListenerError(f"{name}: cannot listen on {where}: {hint}")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_tcp(host: str, port: int, name: str) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _refused(exc, name, f"{host}:{port}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def bind_udp(
    host: str, port: int, name: str, receive_buffer: int = DEFAULT_RECEIVE_BUFFER
) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    # As root the buffer may exceed net.core.rmem_max (SO_RCVBUFFORCE); otherwise the
    # kernel caps it.
    try:
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), receive_buffer)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _refused(exc, name, f"udp {host}:{port}") from None
    sock.setblocking(False)
    return sock


def kernel_drops(sock: socket.socket) -> int | None:
    """The kernel's drop count for a UDP ``sock`` (last column of /proc/net/udp[6]),
    found by the socket's inode; None where /proc does not say."""
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except OSError:
        return None
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as lines:
                next(lines, None)
                for line in lines:
                    cols = line.split()
                    if len(cols) >= 13 and cols[9] == inode:
                        return int(cols[12])
        except OSError:
            continue
    return None
