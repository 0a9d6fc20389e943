"""Audited changes: a transaction that records who did what, from where, in the audit log
in the same commit as the change itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from garrison.auth.principal import Principal
from garrison.store import Store, Transaction


@contextmanager
def audited(
    store: Store, actor: Principal, action: str, target: str, **detail: Any
) -> Iterator[Transaction]:
    """A transaction that adds ``action`` on ``target`` to the audit log when it commits
    (and nothing when the change fails)."""
    with store.transaction() as tx:
        yield tx
        tx.audit.add(
            actor=actor.username,
            action=action,
            target=target,
            client_address=actor.client_address,
            detail=json.dumps(detail, default=str) if detail else "",
        )
