"""The event ids of pcaps/getByEventIds, as files and bodies write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.webservices.event_ids import MAX_IDS, parse_event_ids
from garrison.webservices.params import ParamError


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3",
        "1\n2\n3\n",
        "1\r\n2\r\n3",
        " 1 , 2 ,\t3 ,",
        "\ufeff1;2\n\n3",
        '"1","2"\n"3"',
        "1,1,2,3,2,03",
    ],
)
def test_separators_blanks_quotes_and_duplicates(text: str) -> None:
    wanted = parse_event_ids(text)
    assert wanted.event_ids == [1, 2, 3] and wanted.sequences == {}


def test_device_sequences_beside_event_ids() -> None:
    wanted = parse_event_ids("7\n3:48812, 3:48813\n4:1")
    assert wanted.event_ids == [7]
    assert wanted.sequences == {3: [48812, 48813], 4: [1]}
    assert len(wanted) == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no event ids"),
        (" ,\n\n", "no event ids"),
        ("1\n2\nabc", "line 3: 'abc' is not an event id"),
        ("1,-2", "line 1: '-2' is not an event id"),
        ("3:", "line 1: '3:' is not an event id"),
        ("1:2:3", "line 1: '1:2:3'"),
        ("١٢", "is not an event id"),  # Arabic-Indic digits are not ids
        ("99999999999999999999", "is not an event id"),
    ],
)
def test_what_is_not_an_id_is_named_with_its_line(text: str, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        parse_event_ids(text)


def test_at_most_ten_thousand() -> None:
    assert len(parse_event_ids(",".join(map(str, range(MAX_IDS))))) == MAX_IDS
    with pytest.raises(ParamError, match=f"more than {MAX_IDS}"):
        parse_event_ids("\n".join(map(str, range(MAX_IDS + 1))))


@given(
    st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=50),
    st.lists(st.sampled_from([",", "\n", "\r\n", " ", ", ", ";", "\t"]), min_size=1),
)
def test_any_separator_mix_gives_the_ids_in_order(ids: list[int], separators: list[str]) -> None:
    text = "".join(f"{i}{separators[n % len(separators)]}" for n, i in enumerate(ids))
    assert parse_event_ids(text).event_ids == list(dict.fromkeys(ids))
