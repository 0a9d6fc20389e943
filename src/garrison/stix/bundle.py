"""A STIX 2.0 bundle read into one decision per object: import the indicator, revoke it,
skip it, or refuse it with a message. Pure: bytes in, decisions out.

The SMS's import rules (facts sheet §1.2): only ``indicator`` objects count; an indicator
with ``revoked: true`` deletes the entry that carries its STIX ID; one labelled ``benign``
is skipped; any other needs a pattern of the supported form (`garrison.stix.pattern`), and
its ``valid_until`` becomes the entry's ``Reputation Entries TTL``.

A body that is not a bundle at all is a `BundleError` (the whole request is refused with
400); a bad object inside a good bundle is a `Failure` of that object alone, and the rest
of the bundle is still imported. Objects of other types (identities, marking definitions,
relationships, ...) are accepted and ignored (`Skip`): feeds send them alongside their
indicators, and they are no error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from garrison.stix import labels as label_rules
from garrison.stix.pattern import Comparison, parse_pattern

INDICATOR = "indicator"

_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


class BundleError(ValueError):
    """A body that is not a STIX bundle; the message says why, for a 400."""


@dataclass(frozen=True, slots=True)
class Import:
    """Add (or update) the entry of ``comparison``, tagged from the indicator."""

    stix_id: str
    comparison: Comparison
    severity: str | None = None  # High, Medium or Low
    confidence: int | None = None  # 0..100
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Revoke:
    """Delete the entries tagged with this STIX ID."""

    stix_id: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Accepted, nothing to import (a benign indicator, an object of another type)."""

    stix_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Failure:
    stix_id: str
    message: str


Decision = Import | Revoke | Skip | Failure


def parse_timestamp(value: object) -> datetime:
    """A STIX timestamp (``2026-01-01T00:00:00.000Z``) as an aware UTC datetime. Digits past
    microseconds are dropped; another zone offset is converted; none at all means UTC.
    Raises ValueError."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{_shown(value)} is not a timestamp such as 2026-01-01T00:00:00Z")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        zone = UTC
        if match["zone"] and match["zone"] not in "Zz":
            text = match["zone"].replace(":", "")
            minutes = int(text[1:3]) * 60 + int(text[3:5])
            zone = timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
        return moment.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):  # 2026-13-01, 25:00:00, +24:00, or out of range
        raise ValueError(f"{_shown(value)} is not a valid date and time") from None


def _shown(value: object) -> str:
    """A value for a message: a string quoted, anything else as JSON, both shortened."""
    if not isinstance(value, str):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:60] + "..."
    return repr(value if len(value) <= 60 else value[:60] + "...")


def read_bundle(body: bytes) -> list[Any]:
    """The objects of a bundle body; `BundleError` when the body is not one."""
    try:
        document = json.loads(body)
    except UnicodeDecodeError:
        raise BundleError("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise BundleError("the body is not a STIX bundle: JSON nested too deeply") from None
    if not isinstance(document, dict):
        raise BundleError("the body is not a STIX bundle: it must be a JSON object")
    if "type" not in document:
        raise BundleError('the body is not a STIX bundle: it has no "type": "bundle"')
    if document["type"] != "bundle":
        raise BundleError(
            f'the body is not a STIX bundle: "type" is {_shown(document["type"])}, not "bundle"'
        )
    objects = document.get("objects", [])
    if not isinstance(objects, list):
        raise BundleError('the body is not a STIX bundle: "objects" must be a list')
    return objects


def parse_bundle(body: bytes) -> list[Decision]:
    """One decision per object of the bundle in ``body``, in order."""
    return [decide(item, index) for index, item in enumerate(read_bundle(body))]


def decide(item: object, index: int) -> Decision:
    """What to do with the bundle's object number ``index``. A failure names the object by
    its id, or ``objects[<index>]`` when it has none."""
    if not isinstance(item, dict):
        return Failure(f"objects[{index}]", "not a STIX object (a JSON object)")
    stix_id = item.get("id")
    if not isinstance(stix_id, str) or not stix_id.strip():
        return Failure(f"objects[{index}]", 'a STIX object needs an "id"')
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        return Failure(stix_id, 'a STIX object needs a "type"')
    if kind != INDICATOR:
        return Skip(stix_id, f"{kind} objects are not imported")
    try:
        return _indicator(stix_id, item)
    except ValueError as exc:  # PatternError included
        return Failure(stix_id, str(exc))


def _labels(item: dict[str, Any]) -> Sequence[str]:
    labels = item.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError('"labels" must be a list of strings')
    return labels


def _indicator(stix_id: str, item: dict[str, Any]) -> Decision:
    revoked = item.get("revoked", False)
    if not isinstance(revoked, bool):
        raise ValueError('"revoked" must be true or false')
    if revoked:
        return Revoke(stix_id)
    labels = _labels(item)
    if label_rules.is_benign(labels):
        return Skip(stix_id, "labelled benign")
    pattern = item.get("pattern")
    if not isinstance(pattern, str):
        raise ValueError('an indicator needs a "pattern" string')
    comparison = parse_pattern(pattern)
    valid_until = _time(item, "valid_until")
    valid_from = _time(item, "valid_from")
    if valid_until is not None and valid_from is not None and valid_until <= valid_from:
        raise ValueError('"valid_until" must be later than "valid_from"')
    return Import(
        stix_id=stix_id,
        comparison=comparison,
        severity=label_rules.severity(labels),
        confidence=label_rules.confidence(labels),
        valid_until=valid_until,
    )


def _time(item: dict[str, Any], name: str) -> datetime | None:
    value = item.get(name)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ValueError(f'"{name}": {exc}') from None
