"""The HTTPS ingest wire format: what a pushed item may hold, and the Event it becomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from garrison.collectors.ingest import IngestEvent, normalize
from garrison.events import Action, EventKind, Severity

BATCH = TypeAdapter(list[IngestEvent])


def test_an_item_becomes_an_ingest_event_from_the_sender() -> None:
    item = IngestEvent.model_validate(
        {
            "severity": "major",
            "device_name": "edge-2",
            "signature_number": 7001,
            "src_ip": " 2001:DB8::0:1 ",
            "dst_ip": "10.0.0.5",
            "dst_port": 443,
            "action": "rate-limit",
            "begin_time": 1769846400000,
            "end_time": "2026-01-31T09:00:00.250+01:00",
            "extra": {"cs1": "x"},
        }
    )
    now = datetime(2026, 2, 1, tzinfo=UTC)
    (event,) = normalize([item], "192.0.2.4", received_at=now)
    assert event.collector == "ingest" and event.source_address == "192.0.2.4"
    assert event.received_at == now and event.kind is EventKind.ALERT
    assert event.severity is Severity.MAJOR and event.action is Action.RATE_LIMIT
    assert event.src_ip == "2001:db8::1"  # normalized
    assert event.begin_time == datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    assert event.end_time == datetime(2026, 1, 31, 8, 0, 0, 250000, tzinfo=UTC)
    assert event.extra == {"cs1": "x"} and event.hit_count == 1


def test_an_empty_item_is_a_low_alert() -> None:
    (event,) = normalize([IngestEvent()], "127.0.0.1")
    assert (event.kind, event.severity, event.src_ip, event.device_id) == (
        EventKind.ALERT,
        Severity.LOW,
        "",
        None,
    )


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"src_ip": "10.0.0.256"}, "src_ip"),
        ({"dst_ip": 167772161}, "dst_ip"),
        ({"src_port": -1}, "src_port"),
        ({"severity": 0}, "severity"),
        ({"severity": "urgent"}, "severity"),
        ({"kind": "weather"}, "kind"),
        ({"action": "explode"}, "action"),
        ({"begin_time": "2026-01-31 08:00"}, "begin_time"),
        ({"end_time": "1969-12-31T23:59:59Z"}, "end_time"),
        ({"end_time": True}, "end_time"),
        ({"name": "x" * 256}, "name"),
        ({"hit_count": 2**31}, "hit_count"),
        ({"extra": {"k": 1}}, "extra"),
        ({"device_id": 3}, "device_id"),  # the inventory decides, not the sender
    ],
)
def test_bad_items_name_their_index_and_field(item: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        BATCH.validate_python([{}, item])
    locations = {tuple(error["loc"][:2]) for error in refused.value.errors()}
    assert (1, field) in locations
