"""The catalog learner picks out what a batch of events shows for the first time."""

from __future__ import annotations

import pytest

from garrison.catalog.learner import CatalogLearner, segment_of
from garrison.events.model import Action, Event, EventKind, Severity


def alert(number: int, **fields: object) -> Event:
    base: dict[str, object] = {
        "kind": EventKind.ALERT,
        "collector": "snmp-trap",
        "source_address": "127.0.0.1",
        "device_id": 1,
        "signature_id": f"00000001-0001-0001-0001-{number:012d}",
        "name": f"{number}: HTTP: something",
        "severity": Severity.MAJOR,
        "category": "Exploits",
        "protocol": "tcp",
        "action": Action.BLOCK,
        "action_set": "Block / Notify",
        "segment": "1-2A 1-2B",
    }
    base.update(fields)
    return Event(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("1:3", (1, 3)),
        ("1-3A 1-3B", (1, 3)),
        ("6A 6B", (1, 6)),
        ("2-4B 2-4A", (2, 4)),
        ("", None),
        ("zone-uuid:zone-uuid", None),
    ],
)
def test_segments_are_read_from_what_devices_send(text: str, place: tuple[int, int]) -> None:
    assert segment_of(text) == place


def test_each_signature_action_set_and_segment_is_offered_once() -> None:
    learner = CatalogLearner()
    first = learner.new_in([alert(7610), alert(7610), alert(13012, segment="1:5")])
    assert [s.number for s in first.signatures] == [7610, 13012]
    assert first.signatures[0].name == "7610: HTTP: something"
    assert first.signatures[0].severity == 3
    assert [a.name for a in first.action_sets] == ["Block / Notify"]
    assert first.action_sets[0].flow_control == "DENY"
    assert [(s.device_id, s.segment_index, s.name) for s in first.segments] == [
        (1, 2, "Segment 1-2 (A > B)"),
        (1, 5, "Segment 1-5 (A > B)"),
    ]
    assert not learner.new_in([alert(7610), alert(13012, segment="1:5")])


def test_known_rows_compare_without_case_and_forgotten_rows_come_back() -> None:
    learner = CatalogLearner(
        signatures=["00000001-0001-0001-0001-000000007610".upper()],
        action_sets=["block / notify"],
        segments=[(1, 2)],
    )
    assert not learner.new_in([alert(7610)])
    learned = learner.new_in([alert(42, action_set="Permit / Notify", action=Action.PERMIT)])
    assert learned.action_sets[0].flow_control == "ALLOW"
    learner.forget(learned)
    again = learner.new_in([alert(42, action_set="Permit / Notify", action=Action.PERMIT)])
    assert [s.number for s in again.signatures] == [42]


def test_only_alerts_from_known_devices_teach_segments() -> None:
    learner = CatalogLearner()
    notice = Event(kind=EventKind.SYSTEM, collector="poller", source_address="", name="x")
    unknown = alert(1, device_id=None)
    learned = learner.new_in([notice, unknown])
    assert not learned.segments
    assert [s.number for s in learned.signatures] == [1]
