"""The two peers the browser scenario's policy acts on, both on 127.0.0.1: a syslog
receiver (one UDP socket) and a web hook (the standard library's HTTP server), each
recording what arrived so the test can see that an action really happened."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """What a peer was sent, in order of arrival."""

    items: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: str) -> None:
        with self.lock:
            self.items.append(item)

    def all(self) -> list[str]:
        with self.lock:
            return list(self.items)


@dataclass
class Peer:
    port: int
    received: Received


@contextmanager
def syslog_receiver() -> Iterator[Peer]:
    """A UDP syslog server: every datagram, decoded."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)  # so the thread sees the stop flag
    received = Received()
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(65_535)
            except TimeoutError:
                continue
            except OSError:
                return
            received.add(data.decode("utf-8", "replace"))

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        yield Peer(port=sock.getsockname()[1], received=received)
    finally:
        stop.set()
        thread.join(5)
        sock.close()


@contextmanager
def web_hook() -> Iterator[Peer]:
    """An HTTP server that answers 200 to any GET or POST and records its path."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.add(self.path)
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test reports what matters

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    try:
        yield Peer(port=server.server_address[1], received=received)
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
