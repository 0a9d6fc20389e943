"""The one error every syslog parser raises, carrying the reason it is counted under."""

from __future__ import annotations

# Why a message (or, for the connection-level ones, a connection) was dropped. Each is a
# label value of garrison_syslog_dropped_total{reason}; docs/syslog.md explains them.
EMPTY = "empty"  # a frame or datagram with nothing in it
NO_PRI = "no-pri"  # does not start with <PRI>
BAD_PRI = "bad-pri"  # <PRI> is not a number 0..191
BAD_HEADER = "bad-header"  # an RFC 5424 header that does not parse
BAD_STRUCTURED_DATA = "bad-structured-data"  # RFC 5424 structured data that does not parse
BAD_CEF = "bad-cef"  # "CEF:" is there but the header or extension is broken
OVERSIZED = "oversized"  # longer than [syslog] max_message_bytes; skipped
TRUNCATED = "truncated"  # a TCP connection ended in the middle of a frame
FRAMING = "framing"  # TCP bytes that are neither octet counting nor LF framing; closed
UNKNOWN_SOURCE = "unknown-source"  # the sender is not in the inventory
TLS_HANDSHAKE = "tls-handshake"  # a TLS connection whose handshake failed
TOO_MANY_CONNECTIONS = "too-many-connections"  # over [syslog] max_connections; closed

REASONS = (
    EMPTY,
    NO_PRI,
    BAD_PRI,
    BAD_HEADER,
    BAD_STRUCTURED_DATA,
    BAD_CEF,
    OVERSIZED,
    TRUNCATED,
    FRAMING,
    UNKNOWN_SOURCE,
    TLS_HANDSHAKE,
    TOO_MANY_CONNECTIONS,
)


class ParseError(ValueError):
    """Bytes that are not a syslog message (or frame) Garrison can read."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
