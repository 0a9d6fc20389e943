"""Servlet paths as sloppy SMS clients send them, made plain. Pure: no I/O.

Scripts written against a real SMS double slashes (``https://sms//quarantine/...``), end
paths with a slash, and some put ``&`` where ``?`` belongs (``repEntries/query&ip=1.2.3.4``).
The facts sheet's tolerance rule 4 says a compatible server accepts all of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

# The first path segment of every service of the SMS Web services API (facts sheet §1.2).
# A request under one of these is the Web services' business, answered in text even when
# the method does not exist; any other path belongs to the rest of the HTTPS app.
SMS_SERVICES = frozenset(
    {
        "ipsProfileMgmt",
        "repEntries",
        "taxii",
        "virtualsegment",
        "smsAdmin",
        "deviceAdmin",
        "vulnscanner",
        "quarantine",
        "pcaps",
        "dbAccess",
    }
)

_SLASHES = re.compile(r"/{2,}")


@dataclass(frozen=True, slots=True)
class ServletPath:
    """A normalised request target: ``/<service>/<method>`` and the whole query string."""

    path: str  # normalised, percent-decoded, e.g. "/quarantine/quarantine"
    query: bytes  # still percent-encoded, the path's "&..." tail first

    @property
    def service(self) -> str:
        return self.path.lstrip("/").partition("/")[0]

    @property
    def method(self) -> str:
        """Everything after the service: "" for "/quarantine", "a/b" for deeper paths."""
        return self.path.lstrip("/").partition("/")[2]


def collapse(path: str) -> str:
    """``//`` runs become one ``/``; a trailing slash goes; the result starts with ``/``."""
    path = _SLASHES.sub("/", "/" + path)
    if len(path) > 1:
        path = path.rstrip("/")
    return path


def normalise(raw_path: bytes, query: bytes = b"") -> ServletPath:
    """Normalise a request's raw (still percent-encoded) path and query string.

    The split at ``&`` happens on the raw bytes, so an encoded ``%26`` stays part of the
    path: only a literal ``&`` can have been meant as the start of the parameters.
    """
    head, amp, tail = raw_path.partition(b"&")
    path = collapse(unquote_to_bytes(head).decode("utf-8", "replace"))
    parts = [part for part in (tail if amp else b"", query) if part]
    return ServletPath(path=path, query=b"&".join(parts))


def is_servlet_path(path: ServletPath) -> bool:
    return path.service in SMS_SERVICES
