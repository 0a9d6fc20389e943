"""A bundle's decisions carried out on the reputation store, through `ReputationService`.

Each imported indicator becomes a user entry tagged ``STIX - ID`` (its indicator ID),
``STIX - Severity`` and ``STIX - Confidence`` (from its labels, when it has them), with its
``valid_until`` as the entry's expiry (the service writes that as the ``Reputation Entries
TTL`` tag). The three STIX categories are made on first use when a site has not made them:
a text, a list of High, Medium and Low, and a range of 0 to 100.

Every entry is checked alone first, so a bad one fails alone; the good ones are then
written in as few transactions as the bundle allows (one for each run of imports between
revocations, kept in bundle order so that "add X, then revoke X" ends with X gone).
Runs in a worker thread: everything here blocks on the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy.exc import IntegrityError

from garrison.auth import Capability, Principal
from garrison.errors import Conflict, Invalid
from garrison.reputation.model import TagCategory, TagInput
from garrison.reputation.service import EntryInput, ReputationService
from garrison.stix.bundle import Decision, Failure, Import, Revoke, Skip
from garrison.stix.labels import SEVERITIES
from garrison.store.stix import entries_tagged

STIX_ID = "STIX - ID"
STIX_SEVERITY = "STIX - Severity"
STIX_CONFIDENCE = "STIX - Confidence"


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """How a missing STIX category is made (`ReputationService.create_category`)."""

    kind: str
    description: str
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


CATEGORIES = {
    STIX_ID: CategorySpec("text", "the ID of the STIX indicator the entry came from"),
    STIX_SEVERITY: CategorySpec(
        "list",
        "the severity of the STIX indicator the entry came from",
        values=tuple(SEVERITIES.values()),
    ),
    STIX_CONFIDENCE: CategorySpec(
        "range", "the confidence of the STIX indicator the entry came from", minimum=0, maximum=100
    ),
}


@dataclass
class Outcome:
    """What became of each object, in bundle order, and what the store saw."""

    successes: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    imported: int = 0  # indicators written as entries
    skipped: int = 0  # benign indicators and objects of other types
    deleted: int = 0  # entries removed by revocations


def ensure_categories(service: ReputationService, actor: Principal) -> dict[str, TagCategory]:
    """Every category by name, the STIX ones made first where missing."""
    categories = service.categories()
    for name, spec in CATEGORIES.items():
        if name in categories:
            continue
        with suppress(Conflict, IntegrityError):  # another import made it meanwhile
            service.create_category(
                actor,
                name,
                spec.kind,
                description=spec.description,
                values=spec.values,
                minimum=spec.minimum,
                maximum=spec.maximum,
            )
    return service.categories()


def entry_input(decision: Import) -> EntryInput:
    tags: dict[str, TagInput] = {STIX_ID: decision.stix_id}
    if decision.severity is not None:
        tags[STIX_SEVERITY] = decision.severity
    if decision.confidence is not None:
        tags[STIX_CONFIDENCE] = decision.confidence
    return EntryInput(
        value=decision.comparison.value,
        kind=decision.comparison.kind,
        tags=tags,
        expires_at=decision.valid_until,
    )


def import_decisions(
    service: ReputationService, actor: Principal, decisions: Sequence[Decision]
) -> Outcome:
    """Carry out ``decisions``; raises `Forbidden` before anything when ``actor`` may not
    write reputation entries. The outcome lists the objects in bundle order."""
    actor.require(Capability.REPUTATION_WRITE)
    outcome = Outcome()
    writes = any(isinstance(d, Import | Revoke) for d in decisions)
    categories = ensure_categories(service, actor) if writes else {}
    for revoking, run in groupby(decisions, key=lambda d: isinstance(d, Revoke)):
        batch = list(run)
        if revoking:
            _revoke(service, actor, [d for d in batch if isinstance(d, Revoke)], outcome)
        else:
            _record(outcome, batch, _import(service, actor, categories, batch))
    return outcome


def _record(
    outcome: Outcome, batch: Sequence[Decision], import_errors: dict[int, str | None]
) -> None:
    """Add a run of decisions to ``outcome``; ``import_errors`` says, by position in the
    run, why an import failed (None: it went in)."""
    for position, decision in enumerate(batch):
        if isinstance(decision, Skip):
            outcome.successes.append(decision.stix_id)
            outcome.skipped += 1
        elif isinstance(decision, Failure):
            outcome.failures.append((decision.stix_id, decision.message))
        elif isinstance(decision, Import):
            error = import_errors[position]
            if error is None:
                outcome.successes.append(decision.stix_id)
                outcome.imported += 1
            else:
                outcome.failures.append((decision.stix_id, error))


def _import(
    service: ReputationService,
    actor: Principal,
    categories: dict[str, TagCategory],
    batch: Sequence[Decision],
) -> dict[int, str | None]:
    """Write the imports of ``batch`` in one transaction, each checked alone first; what
    became of each, by position."""
    errors: dict[int, str | None] = {}
    good: dict[int, EntryInput] = {}
    for position, decision in enumerate(batch):
        if not isinstance(decision, Import):
            continue
        item = entry_input(decision)
        try:
            service.prepare([item], categories)
        except Invalid as exc:
            errors[position] = str(exc)
        else:
            good[position] = item
            errors[position] = None
    if good:
        try:
            service.add_many(actor, list(good.values()))
        except Invalid as exc:  # a category deleted since the check: none of these went in
            errors.update(dict.fromkeys(good, str(exc)))
    return errors


def _revoke(
    service: ReputationService, actor: Principal, batch: Sequence[Revoke], outcome: Outcome
) -> None:
    """Delete the entries carrying these STIX IDs. An ID no entry carries is a success
    too: the indicator is gone either way, and a feed may send a revocation twice."""
    with service.store.transaction() as tx:
        found = entries_tagged(tx.session, STIX_ID, [d.stix_id for d in batch])
    by_kind = sorted((entry.kind, entry.value) for entry in found)
    for kind, entries in groupby(by_kind, key=lambda pair: pair[0]):
        outcome.deleted += service.delete(actor, [value for _, value in entries], kind=kind)
    outcome.successes.extend(d.stix_id for d in batch)
