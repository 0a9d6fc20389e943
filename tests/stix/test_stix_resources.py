"""The TAXII resources' JSON shapes, the STIX media type check, and the bounded board of
status resources."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from garrison.stix import resources
from garrison.stix.status import Status, StatusBoard, stix_timestamp

WHEN = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_error_messages_are_taxii_shaped() -> None:
    assert resources.error(413, "too\nbig") == {
        "title": "Request Entity Too Large",
        "description": "too big",
        "http_status": "413",
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "application/vnd.oasis.stix+json; version=2.0",
        "application/vnd.oasis.stix+json;version=2.0",
        'Application/VND.OASIS.STIX+JSON; version="2.0"',
        "application/vnd.oasis.stix+json",
    ],
)
def test_stix_media_types_taken(content_type: str) -> None:
    assert resources.stix_media_problem(content_type) is None


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (
            "application/json",
            "Content-Type must be application/vnd.oasis.stix+json; version=2.0, "
            "not application/json",
        ),
        ("", "not none"),
        ("application/vnd.oasis.taxii+json; version=2.0", "Content-Type must be"),
        ("application/vnd.oasis.stix+json; version=2.1", "takes STIX 2.0 bundles, not version=2.1"),
    ],
)
def test_other_media_types_refused(content_type: str, message: str) -> None:
    problem = resources.stix_media_problem(content_type)
    assert problem is not None and message in problem


def test_a_status_counts_what_it_holds() -> None:
    status = Status(
        id="s1",
        request_timestamp=WHEN,
        successes=("indicator--a", "identity--b"),
        failures=(("indicator--c", "bad pattern"),),
    )
    assert status.to_json() == {
        "id": "s1",
        "status": "complete",
        "request_timestamp": "2026-03-01T12:00:00.123Z",
        "total_count": 3,
        "success_count": 2,
        "successes": ["indicator--a", "identity--b"],
        "failure_count": 1,
        "failures": [{"id": "indicator--c", "message": "bad pattern"}],
        "pending_count": 0,
        "pendings": [],
    }
    assert Status(id="s2", request_timestamp=WHEN, pendings=("x",)).to_json()["status"] == "pending"
    assert stix_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def test_the_board_keeps_the_newest_statuses() -> None:
    board = StatusBoard(keep=3)
    for n in range(5):
        board.add(Status(id=f"s{n}", request_timestamp=WHEN))
    assert len(board) == 3
    assert board.get("s0") is None and board.get("s1") is None
    assert [board.get(f"s{n}") is not None for n in (2, 3, 4)] == [True, True, True]


def test_the_board_stays_within_its_budget_but_keeps_the_newest() -> None:
    big = tuple(f"indicator--{n}" for n in range(1000))
    board = StatusBoard(
        keep=100, budget=3 * Status(id="x", request_timestamp=WHEN, successes=big).weight
    )
    for n in range(5):
        board.add(Status(id=f"s{n}", request_timestamp=WHEN, successes=big))
    assert len(board) == 3 and board.get("s4") is not None and board.get("s1") is None
    tiny = StatusBoard(keep=10, budget=1)
    tiny.add(Status(id="only", request_timestamp=WHEN, successes=big))
    assert tiny.get("only") is not None
