"""The event ids of ``pcaps/getByEventIds``, from the text a caller sends. Pure: text in,
`WantedTraces` out, or a `ParamError` naming the line.

The SMS takes a text file of event ids, comma- or newline-separated (facts sheet §1.2,
"Packet trace"). Garrison takes, in any mix:

* ``12345``: a Garrison event id (the ``id`` of ``/api/v1/events``, what Garrison's event
  exports carry);
* ``3:48812``: a device's own sequence number for an event, after the device's id and a
  colon (ALERTS' DEVICE_ID and SEQUENCE_NUM, the ``externalId`` of a device's CEF line,
  the TraceBegin of its trap), for events Garrison never stored.

Separators are commas, semicolons, line ends (LF or CRLF) and blanks, repeated at will;
a UTF-8 byte-order mark, blank lines and double quotes around an id (a CSV column) are
ignored. Duplicates count once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from garrison.webservices.params import ParamError

MAX_IDS = 10_000  # ids of one call, as for reputation queries
MAX_ID = 2**63 - 1
_SEPARATORS = re.compile(r"[,;\s]+")


@dataclass
class WantedTraces:
    event_ids: list[int] = field(default_factory=list)  # Garrison event ids, as given
    sequences: dict[int, list[int]] = field(default_factory=dict)  # device id -> sequences

    def __len__(self) -> int:
        return len(self.event_ids) + sum(len(s) for s in self.sequences.values())


def _number(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_ID:
        return None
    return int(text)


def _shown(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:40] + "...")


def parse_event_ids(text: str) -> WantedTraces:
    """Every id of ``text``; ParamError (a 400) for a token that is not one."""
    wanted = WantedTraces()
    seen: set[tuple[int | None, int]] = set()
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        for raw in _SEPARATORS.split(line):
            token = raw.strip('"')
            if not token:
                continue
            device, colon, sequence = token.partition(":")
            key = (_number(device), _number(sequence)) if colon else (None, _number(token))
            if key[1] is None or (colon and key[0] is None):
                raise ParamError(
                    f"line {number}: {_shown(token)} is not an event id "
                    "(a number, or <device id>:<sequence number>)"
                )
            if key in seen:
                continue
            seen.add(key)
            device_id, value = key
            if device_id is None:
                wanted.event_ids.append(value)
            else:
                wanted.sequences.setdefault(device_id, []).append(value)
            if len(wanted) > MAX_IDS:
                raise ParamError(f"line {number}: more than {MAX_IDS} event ids in one call")
    if not len(wanted):
        raise ParamError(
            "no event ids: send them as a file (multipart, any field name) or as the request "
            "body, comma- or newline-separated"
        )
    return wanted
