"""The external views' SQL: every SMS table compiles for MariaDB and PostgreSQL with the
SMS's names and order and no column left without SQL, and the address pattern and the
text-address SQL read addresses exactly as the Web service's Python does."""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Text, create_engine, literal, select

from garrison.datatables.registry import TABLES
from garrison.datatables.sqlfuncs import sms_address
from garrison.events.addresses import address_number
from garrison.externaldb.sqltext import looks_like_address, text_address_high, text_address_low
from garrison.externaldb.views import (
    MARIADB,
    POSTGRESQL,
    compile_sql,
    compile_views,
    offline_dialect,
    view_columns,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"

# -- the compiled views ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", [MARIADB, POSTGRESQL])
def test_every_table_compiles_with_the_sms_names_and_no_null_stand_ins(backend: str) -> None:
    views = {v.name: v for v in compile_views(offline_dialect(backend), source="garrison")}
    fold = str.lower if backend == POSTGRESQL else str
    assert set(views) == {fold(name) for name in TABLES}
    for table in TABLES.values():
        view = views[fold(table.name)]
        assert view.untranslated == (), f"{table.name}: columns with no SQL: {view.untranslated}"
        expected = [fold(n) for n in table.names]
        if table.name == "ALERTS":
            expected = [
                fold(
                    {"SRC_IP_ADDR_HIGH": "SRC_IP_ADDR_2", "DST_IP_ADDR_HIGH": "DST_IP_ADDR_2"}.get(
                        n, n
                    )
                )
                for n in table.names
            ]
        assert list(view.column_names) == expected
        # Values inlined for the server as they are: no parameters, no driver escapes.
        assert "%%" not in view.create and "%(" not in view.create


def test_mariadb_views_run_with_the_definers_rights_over_garrisons_database() -> None:
    views = compile_views(offline_dialect(MARIADB), container="ExternalAccess", source="garrison")
    for view in views:
        assert view.create.startswith(
            f"CREATE OR REPLACE DEFINER = CURRENT_USER SQL SECURITY DEFINER VIEW "
            f"`ExternalAccess`.`{view.name}` AS"
        )
    alerts = next(v for v in views if v.name == "ALERTS")
    assert "FROM garrison.events" in alerts.create


def test_postgresql_views_live_in_a_lower_case_schema() -> None:
    views = compile_views(offline_dialect(POSTGRESQL), container="ExternalAccess", source="public")
    assert all(
        v.create.startswith(f"CREATE OR REPLACE VIEW externalaccess.{v.name} AS") for v in views
    )
    assert all(v.name == v.name.lower() for v in views)


def test_the_documented_views_are_the_views() -> None:
    documented = {}
    for line in (DOCS / "external-database.md").read_text().splitlines():
        found = re.match(r"^\| `([A-Z_]+)` \| ([A-Z0-9_, ]+) \|$", line)
        if found:
            documented[found[1]] = found[2].split(", ")
    made = {t.name: [c.name for c in view_columns(t, MARIADB)] for t in TABLES.values()}
    assert documented == made


# -- the address pattern ---------------------------------------------------------------------


def _forms(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    forms = [str(address), address.exploded, str(address).upper()]
    if address.version == 6:
        low32 = int(address) & 0xFFFF_FFFF
        head = address.exploded.rsplit(":", 2)[0]
        forms.append(f"{head}:{ipaddress.IPv4Address(low32)}")  # a trailing IPv4
        forms.append(f"{address}%eth0")
    return forms


addresses = st.one_of(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    st.integers(0, 2**32 - 1).map(lambda n: ipaddress.IPv6Address((0xFFFF << 32) | n)),
    st.integers(0, 2**16 - 1).map(lambda n: ipaddress.IPv6Address(n << 112)),
)


@given(addresses)
def test_every_written_form_of_an_address_matches_the_pattern(
    address: ipaddress._BaseAddress,
) -> None:
    for form in _forms(address):  # type: ignore[arg-type]
        assert looks_like_address(form), form
        assert address_number(form) is not None


@given(st.text(alphabet="0123456789abcdefABCDEF:.%/ x-", max_size=45))
def test_whatever_matches_the_pattern_is_an_address_to_python(candidate: str) -> None:
    # The pattern guards PostgreSQL's inet cast: a match that is no address would fail
    # the whole SELECT.
    if looks_like_address(candidate):
        assert address_number(candidate) is not None, candidate


# -- the text-address SQL on the databases ----------------------------------------------------

MARIADB_LONGEST = 39  # characters INET6_ATON reads (8 groups of 4 and 7 colons)


def _samples() -> list[str]:
    rng = random.Random(20260201)
    found = [
        "", "x", "1.2.3", "01.2.3.4", "1.2.3.4/8", " 1.2.3.4", "1:2:3:4:5:6:7:8:9", "::",
        "::1", "::ffff:1.2.3.4", "::1.2.3.4", "fe80::1%eth0", "fe80::1%", "1.2.3.4%eth0", "0:1::",
        "8000::",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::1.2.3.4", "a:0:0:b::1",
    ]  # fmt: skip
    for _ in range(60):
        found.extend(_forms(ipaddress.IPv6Address(rng.getrandbits(128))))
        found.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        found.append(str(ipaddress.IPv6Address((0xFFFF << 32) | rng.getrandbits(32))))
    return found


@pytest.fixture(params=["mariadb", "postgresql"])
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    from tests.conftest import SERVER_URLS

    yield SERVER_URLS[request.param]


def test_text_addresses_read_in_sql_as_in_python(server_url: str) -> None:
    samples = _samples()
    engine = create_engine(server_url)
    try:
        with engine.connect() as conn:
            parts = [
                select(text_address_low(literal(s, Text)), text_address_high(literal(s, Text)))
                for s in samples
            ]
            got = []
            for part in parts:  # one statement each: the values are inlined
                cursor = conn.connection.cursor()
                cursor.execute(compile_sql(part, conn.dialect, None))
                got.append(tuple(cursor.fetchone()))
                cursor.close()
    finally:
        engine.dispose()
    on_mariadb = server_url.startswith("mysql")
    for text_, found in zip(samples, got, strict=True):
        want = sms_address(text_) if looks_like_address(text_) else (None, None)
        if on_mariadb and len(text_.split("%")[0]) > MARIADB_LONGEST:
            # INET6_ATON reads at most 39 characters: six groups and a long IPv4 are NULL
            # (docs/external-database.md says so).
            want = (None, None)
        assert found == want, text_
    # Only forms Python reads and the pattern leaves out are NULL: none of these.
    assert all(looks_like_address(s) for s in samples if sms_address(s) != (None, None))
