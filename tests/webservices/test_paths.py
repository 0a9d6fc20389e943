"""Servlet path normalisation: the sloppy paths SMS scripts send (tolerance rule 4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.webservices.params import parse_query
from garrison.webservices.paths import collapse, is_servlet_path, normalise


@pytest.mark.parametrize(
    ("raw", "query", "path", "merged"),
    [
        (b"/quarantine/quarantine", b"ip=1.2.3.4", "/quarantine/quarantine", b"ip=1.2.3.4"),
        (b"//quarantine//quarantine", b"", "/quarantine/quarantine", b""),
        (b"/repEntries/query&ip=1.1.1.1", b"", "/repEntries/query", b"ip=1.1.1.1"),
        # The "&" tail comes first, then the real query string.
        (b"/repEntries/query&ip=1.1.1.1&x=2", b"y=3", "/repEntries/query", b"ip=1.1.1.1&x=2&y=3"),
        (b"//vulnscanner/runtime/", b"", "/vulnscanner/runtime", b""),
        # An encoded %26 is part of the path, not a separator.
        (b"/quarantine/a%26b", b"", "/quarantine/a&b", b""),
        (b"/quarantine/quarantine&", b"ip=x", "/quarantine/quarantine", b"ip=x"),
        (b"/", b"", "/", b""),
    ],
)
def test_normalise(raw: bytes, query: bytes, path: str, merged: bytes) -> None:
    result = normalise(raw, query)
    assert (result.path, result.query) == (path, merged)


def test_service_and_method() -> None:
    path = normalise(b"//quarantine/unquarantine&id=7")
    assert (path.service, path.method) == ("quarantine", "unquarantine")
    assert is_servlet_path(path)
    assert normalise(b"/taxii/root/collections/1/objects/").method == "root/collections/1/objects"
    assert normalise(b"/quarantine").method == ""


@pytest.mark.parametrize("raw", [b"/api/v1/users", b"/metrics", b"/Quarantine/quarantine", b"/"])
def test_other_paths_are_not_servlet_paths(raw: bytes) -> None:
    assert not is_servlet_path(normalise(raw))


segment = st.text(alphabet="abcXYZ09-_.", min_size=1, max_size=8)


@given(st.lists(segment, min_size=1, max_size=5), st.lists(st.integers(1, 4), min_size=6))
def test_slashes_never_change_the_segments(segments: list[str], runs: list[int]) -> None:
    raw = "".join("/" * runs[i] + s for i, s in enumerate(segments)) + "/" * runs[-1]
    path = collapse(raw)
    assert path == "/" + "/".join(segments)
    assert collapse(path) == path  # idempotent


@given(st.lists(st.tuples(segment, segment), max_size=5))
def test_ampersand_tail_gives_the_same_parameters_as_a_query(pairs: list[tuple[str, str]]) -> None:
    encoded = "&".join(f"{k}={v}" for k, v in pairs).encode()
    sloppy = normalise(b"/repEntries/query&" + encoded)
    proper = normalise(b"/repEntries/query", encoded)
    assert sloppy.path == proper.path == "/repEntries/query"
    assert parse_query(sloppy.query) == parse_query(proper.query) == pairs
