"""TAXII 2.0 status resources: what became of each object of a POSTed bundle.

Garrison imports a bundle while the POST waits, so a status is ``complete`` when it is
first answered and never changes. The statuses are kept in memory so that a client may
fetch one again with ``GET .../status/<id>/`` after the POST: the newest `KEEP` of them,
and fewer when they are large, so that they never hold more than about `BUDGET` bytes of
object IDs and messages (a 2 MiB bundle can hold a hundred thousand tiny objects). Older
ones, and all of them after a restart, answer 404. The newest is always kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

KEEP = 1000
BUDGET = 64 * 2**20
_PER_STRING = 64  # what a Python string costs beyond its characters, roughly
COMPLETE = "complete"
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    request_timestamp: datetime
    successes: tuple[str, ...] = ()
    failures: tuple[tuple[str, str], ...] = ()  # (object id, message)
    pendings: tuple[str, ...] = ()

    @property
    def weight(self) -> int:
        """Roughly the bytes this status holds."""
        texts = [*self.successes, *self.pendings, *(i + m for i, m in self.failures)]
        return sum(len(t) + _PER_STRING for t in texts) + _PER_STRING

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": PENDING if self.pendings else COMPLETE,
            "request_timestamp": stix_timestamp(self.request_timestamp),
            "total_count": len(self.successes) + len(self.failures) + len(self.pendings),
            "success_count": len(self.successes),
            "successes": list(self.successes),
            "failure_count": len(self.failures),
            "failures": [{"id": i, "message": m} for i, m in self.failures],
            "pending_count": len(self.pendings),
            "pendings": list(self.pendings),
        }


def stix_timestamp(moment: datetime) -> str:
    """``2026-03-01T12:00:00.123Z``: UTC, milliseconds, as STIX writes times."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class StatusBoard:
    """The newest ``keep`` statuses by id, within ``budget`` bytes. Used from the event
    loop only, so unlocked."""

    def __init__(self, keep: int = KEEP, budget: int = BUDGET) -> None:
        self.keep = keep
        self.budget = budget
        self._statuses: OrderedDict[str, tuple[Status, int]] = OrderedDict()
        self._weight = 0

    def add(self, status: Status) -> None:
        weight = status.weight
        self._statuses[status.id] = (status, weight)
        self._weight += weight
        while len(self._statuses) > 1 and (
            len(self._statuses) > self.keep or self._weight > self.budget
        ):
            _, (_, dropped) = self._statuses.popitem(last=False)
            self._weight -= dropped

    def get(self, status_id: str) -> Status | None:
        found = self._statuses.get(status_id)
        return found[0] if found else None

    def __len__(self) -> int:
        return len(self._statuses)
