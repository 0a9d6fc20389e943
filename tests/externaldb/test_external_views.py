"""The external database as a reporting tool sees it: on MariaDB, the `mariadb` client as
the read-only user finds the views as the SMS's ExternalAccess database has them, reads
the values the facts sheet gives, and can change nothing; on PostgreSQL the same with
`psql`; every view agrees with the data-access Web service; SQLite says it cannot."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from garrison.datatables.identifiers import device_uuid
from garrison.datatables.reader import read_all
from garrison.datatables.registry import TABLES
from garrison.errors import Conflict
from garrison.externaldb import manage
from garrison.externaldb.runner import ExternalAccessError
from garrison.externaldb.views import Unsupported, database_name
from garrison.store import Store, upgrade
from tests.externaldb.externaldb_support import (
    PASSWORD,
    T0,
    Enabled,
    by_name,
    enabled,
    epoch_ms,
    garrison_cli,
    mariadb,
    psql,
    seed,
    signed,
    unique,
)

ON_MARIADB = pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
ON_BOTH = pytest.mark.parametrize("database_url", ["mariadb", "postgresql"], indirect=True)

# The facts sheet's ALERTS columns, with ExternalAccess's SRC_IP_ADDR_2 / DST_IP_ADDR_2.
ALERTS_COLUMNS = [
    "SEQUENCE_NUM", "DEVICE_ID", "ALERT_TYPE_ID", "POLICY_ID", "SIGNATURE_ID", "BEGIN_TIME",
    "END_TIME", "HIT_COUNT", "SRC_IP_ADDR", "SRC_IP_ADDR_2", "SRC_PORT", "DST_IP_ADDR",
    "DST_IP_ADDR_2", "DST_PORT", "VIRTUAL_SEGMENT_INDEX", "PHYSICAL_PORT_IN", "VLAN_TAG",
    "SEVERITY", "PACKET_TRACE", "DEVICE_TRACE_BUCKET", "DEVICE_TRACE_BEGIN_SEQ",
    "DEVICE_TRACE_END_SEQ", "MESSAGE_PARMS", "QUARANTINE_ACTION", "FLOW_CONTROL",
    "ACTION_SET_UUID", "ACTION_SET_NAME", "RATE_LIMIT_RATE", "CLIENT_IP_ADDR",
    "CLIENT_IP_ADDR_HIGH", "XFF_IP_ADDR", "XFF_IP_ADDR_HIGH", "TCIP_IP_ADDR",
    "TCIP_IP_ADDR_HIGH", "URI_METHOD", "URI_HOST", "URI_STRING", "SRC_USER_NAME",
    "SRC_DOMAIN", "SRC_MACHINE", "DST_USER_NAME", "DST_DOMAIN", "DST_MACHINE",
]  # fmt: skip
NULL = "NULL"  # how `mariadb --batch` prints it


@pytest.fixture
def access(store: Store) -> Iterator[Enabled]:
    with enabled(store) as found:
        yield found


def reader_sql(access: Enabled, sql: str) -> list[dict[str, str]]:
    """``sql`` as the read-only user with the mariadb client; it must succeed."""
    answer = mariadb(access.store, access.user, PASSWORD, access.name, sql)
    assert answer.returncode == 0, answer.stderr
    return by_name(answer)


def refused(access: Enabled, sql: str, database: str | None = None) -> str:
    """``sql`` as the read-only user must fail; the client's error line."""
    answer = mariadb(access.store, access.user, PASSWORD, database or access.name, sql)
    assert answer.returncode != 0, f"the reader could run: {sql}"
    return answer.stderr


# -- MariaDB, with the mariadb client --------------------------------------------------------


@ON_MARIADB
def test_mariadb_reader_discovers_the_views_as_the_sms_documents(access: Enabled) -> None:
    views = reader_sql(access, "SHOW FULL TABLES WHERE Table_Type LIKE 'VIEW'")
    name_column = f"Tables_in_{access.name}"
    assert {v[name_column] for v in views} == set(TABLES)
    assert {v["Table_type"] for v in views} == {"VIEW"}
    # Nothing but views: there is no table to write to.
    assert reader_sql(access, "SHOW FULL TABLES WHERE Table_Type <> 'VIEW'") == []

    columns = reader_sql(access, "SHOW COLUMNS FROM ALERTS")
    assert [c["Field"] for c in columns] == ALERTS_COLUMNS
    types = {c["Field"]: c["Type"] for c in columns}
    assert types["DEVICE_ID"].startswith("int")
    assert types["SRC_IP_ADDR"].startswith("bigint")
    assert types["END_TIME"].startswith("bigint")

    signature = [c["Field"] for c in reader_sql(access, "SHOW COLUMNS FROM SIGNATURE")]
    assert signature[:3] == ["ID", "NUM", "SEVERITY_ID"]
    device = [c["Field"] for c in reader_sql(access, "SHOW COLUMNS FROM DEVICE")]
    assert device == list(TABLES["DEVICE"].names)


@ON_MARIADB
def test_mariadb_alerts_hold_numbers_as_the_sms_gives_them(access: Enabled) -> None:
    rows = reader_sql(access, "SELECT * FROM ALERTS ORDER BY END_TIME")
    assert [r["SEQUENCE_NUM"] for r in rows] == ["101", "102", "103", NULL]  # no system notice
    first, second, third, quarantine = rows

    # DEVICE_ID is the device's number, which DEVICE.SHORT_ID holds.
    assert first["DEVICE_ID"] == str(access.seeded.edge)
    assert second["DEVICE_ID"] == str(access.seeded.core)
    assert third["DEVICE_ID"] == NULL
    devices = reader_sql(access, "SELECT SHORT_ID, NAME, DEVICE_GROUP FROM DEVICE ORDER BY 1")
    assert devices[0] == {
        "SHORT_ID": str(access.seeded.edge),
        "NAME": "edge-1",
        "DEVICE_GROUP": "perimeter",
    }

    # Times in epoch milliseconds.
    assert first["END_TIME"] == str(epoch_ms(T0)) == "1769947200123"
    assert int(first["BEGIN_TIME"]) == epoch_ms(T0) - 60_000
    assert quarantine["END_TIME"] == str(epoch_ms(T0) + 5000)  # arrival time: no device time

    # IPv4 as its unsigned 32-bit number, 0 in the _2 column.
    assert (first["SRC_IP_ADDR"], first["SRC_IP_ADDR_2"]) == (str(0x0A010203), "0")
    # IPv6 split in its low and high 64 bits, each a signed 64-bit number.
    assert (first["DST_IP_ADDR"], first["DST_IP_ADDR_2"]) == ("1", str(0x20010DB800000000))
    assert second["SRC_IP_ADDR"] == str(signed(0x8000000000000001)) == "-9223372036854775807"
    assert second["SRC_IP_ADDR_2"] == str(signed(0xFFFF000100020003))
    # IPv4-mapped IPv6 is the IPv4 number; ::1 is IPv6.
    assert (second["DST_IP_ADDR"], second["DST_IP_ADDR_2"]) == (str(0xC6336407), "0")
    assert (third["SRC_IP_ADDR"], third["SRC_IP_ADDR_2"]) == ("1", "0")
    assert third["DST_IP_ADDR"] == str(0xFFFFFFFF)

    # The values that come from the device's extra fields, computed by the view.
    assert (first["CLIENT_IP_ADDR"], first["CLIENT_IP_ADDR_HIGH"]) == (str(0xC000024D), "0")
    assert first["XFF_IP_ADDR"] == second["SRC_IP_ADDR"]
    assert first["TCIP_IP_ADDR"] == NULL  # "not an address"
    assert third["XFF_IP_ADDR"] == NULL  # 01.2.3.4: not an address to the SMS either
    assert (third["CLIENT_IP_ADDR"], third["CLIENT_IP_ADDR_HIGH"]) == (
        "1",
        str(signed(0xFE80 << 48)),
    )
    assert first["RATE_LIMIT_RATE"] == "2 Mbps"
    assert second["RATE_LIMIT_RATE"] == "64 Kbps"
    assert (first["DEVICE_TRACE_BUCKET"], first["VIRTUAL_SEGMENT_INDEX"]) == ("7", "3")
    assert (first["URI_METHOD"], first["URI_HOST"], first["URI_STRING"]) == (
        "GET",
        "www.example.com",
        NULL,
    )
    assert (first["SRC_USER_NAME"], first["DST_MACHINE"]) == ("alice", "web-01")

    assert (first["FLOW_CONTROL"], first["PACKET_TRACE"], first["SEVERITY"]) == ("DENY", "1", "4")
    assert first["SIGNATURE_ID"] == "00000001-0001-0001-0001-000000007610"
    assert second["SIGNATURE_ID"] == "00000001-0001-0001-0001-000000043756"
    assert quarantine["QUARANTINE_ACTION"] == "Added"

    severity = reader_sql(access, "SELECT ID, NAME FROM SEVERITY ORDER BY ID")
    assert [(s["ID"], s["NAME"]) for s in severity] == [
        ("1", "Low"), ("2", "Minor"), ("3", "Major"), ("4", "Critical")
    ]  # fmt: skip
    signatures = reader_sql(access, "SELECT NUM, NAME FROM SIGNATURE ORDER BY NUM")
    assert ("7610", "7610: HTTP: Suspicious Request") in [(s["NUM"], s["NAME"]) for s in signatures]
    assert reader_sql(access, "SELECT COUNT(*) AS N FROM DDOS_STATS") == [{"N": "0"}]


@ON_MARIADB
def test_mariadb_reader_can_change_nothing_and_see_nothing_else(access: Enabled) -> None:
    garrison_db = access.store.engine.url.database
    # PROFILE and SIGNATURE read one table each, so a view alone would let them be written.
    denied = [
        "INSERT INTO PROFILE (ID, NAME) VALUES ('x', 'y')",
        "UPDATE SIGNATURE SET NAME = 'x'",
        "DELETE FROM SIGNATURE",
        "CREATE TABLE notes (a INT)",
        "DROP VIEW ALERTS",
        f"SELECT * FROM {garrison_db}.events",
        f"SELECT * FROM {garrison_db}.users",
    ]
    for sql in denied:
        assert "denied" in refused(access, sql), sql
    assert "denied" in refused(access, "SELECT 1", database=garrison_db)
    databases = {r["Database"] for r in reader_sql(access, "SHOW DATABASES")}
    assert databases == {access.name, "information_schema"}
    # Still all there, unchanged.
    names = reader_sql(access, "SELECT NAME FROM SIGNATURE")
    assert names == [{"NAME": "7610: HTTP: Suspicious Request"}]


@ON_MARIADB
def test_mariadb_enable_again_replaces_the_password_and_the_hosts(access: Enabled) -> None:
    manage.enable(
        access.store, "a new passphrase", user=access.user, name=access.name,
        allowed_hosts=["127.0.0.1", "localhost"],
    )  # fmt: skip
    old = mariadb(access.store, access.user, PASSWORD, access.name, "SELECT 1")
    assert old.returncode != 0 and "denied" in old.stderr
    new = mariadb(access.store, access.user, "a new passphrase", access.name, "SELECT 1")
    assert new.returncode == 0, new.stderr
    status = manage.status(access.store, user=access.user, name=access.name)
    assert status.accounts == (f"'{access.user}'@'127.0.0.1'", f"'{access.user}'@'localhost'")
    assert status.up_to_date


@ON_MARIADB
def test_mariadb_refresh_puts_back_what_a_migration_broke(access: Enabled) -> None:
    with access.store.engine.begin() as conn:
        conn.execute(text(f"DROP VIEW `{access.name}`.`SEVERITY`"))
        conn.execute(text(f"CREATE VIEW `{access.name}`.`OLD_TABLE` AS SELECT 1 AS ID"))
    status = manage.status(access.store, user=access.user, name=access.name)
    assert (status.missing, status.unexpected, status.up_to_date) == (
        ("SEVERITY",),
        ("OLD_TABLE",),
        False,
    )

    manage.refresh(access.store, name=access.name)

    assert manage.status(access.store, user=access.user, name=access.name).up_to_date
    assert len(reader_sql(access, "SELECT * FROM SEVERITY")) == 4  # the reader kept its rights


@ON_MARIADB
def test_mariadb_disable_drops_the_user_and_the_database(store: Store) -> None:
    with enabled(store) as access:
        manage.disable(store, user=access.user, name=access.name)
        answer = mariadb(store, access.user, PASSWORD, None, "SELECT 1")
        assert answer.returncode != 0 and "denied" in answer.stderr
        with store.engine.connect() as conn:
            assert access.name not in set(conn.execute(text("SHOW DATABASES")).scalars())
        status = manage.status(store, user=access.user, name=access.name)
        assert (status.exists, status.accounts) == (False, ())


@ON_MARIADB
def test_mariadb_an_account_with_other_rights_is_not_taken_over(store: Store) -> None:
    user, name = unique("someone"), unique("ExternalAccess")
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'their own password'"))
        conn.execute(text(f"GRANT SELECT ON mysql.* TO '{user}'@'%'"))
    try:
        with pytest.raises(Conflict, match="other privileges"):
            manage.enable(store, PASSWORD, user=user, name=name)
        with pytest.raises(Conflict):
            manage.disable(store, user=user, name=name)
        still = mariadb(store, user, "their own password", None, "SELECT 1")
        assert still.returncode == 0, still.stderr
    finally:
        with store.engine.begin() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


@ON_MARIADB
def test_mariadb_garrison_user_needs_just_the_documented_rights(store: Store) -> None:
    tag = unique("g")
    garrison_user, name, reader = f"garrison_{tag}", f"ExternalAccess_{tag}", f"reader_{tag}"
    garrison_db = store.engine.url.database

    def as_root(*statements: str) -> None:
        with store.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    as_root(
        f"CREATE USER '{garrison_user}'@'%' IDENTIFIED BY 'garrison pw'",
        f"GRANT ALL PRIVILEGES ON {garrison_db}.* TO '{garrison_user}'@'%'",
    )
    url = store.engine.url.set(username=garrison_user, password="garrison pw")
    own = Store(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(ExternalAccessError) as refusal:
            manage.enable(own, PASSWORD, user=reader, name=name)
        # The message says what to grant; nothing was made.
        assert "GRANT CREATE USER ON *.* TO <user>" in str(refusal.value)
        assert f"GRANT ALL PRIVILEGES ON `{name.replace('_', chr(92) + '_')}`.*" in str(
            refusal.value
        )
        assert not manage.status(store, user=reader, name=name).exists

        as_root(  # the two lines docs/external-database.md gives
            f"GRANT CREATE USER ON *.* TO '{garrison_user}'@'%'",
            f"GRANT ALL PRIVILEGES ON `{name.replace('_', chr(92) + '_')}`.* "
            f"TO '{garrison_user}'@'%' WITH GRANT OPTION",
        )
        own.engine.dispose()  # global rights hold from the next connection on
        seed(own)
        manage.enable(own, PASSWORD, user=reader, name=name)
        rows = mariadb(own, reader, PASSWORD, name, "SELECT COUNT(*) AS N FROM ALERTS")
        assert by_name(rows) == [{"N": "4"}], rows.stderr
        assert manage.status(own, user=reader, name=name).accounts is None  # may not list
        manage.disable(own, user=reader, name=name)
        gone = mariadb(own, reader, PASSWORD, None, "SELECT 1")
        assert gone.returncode != 0 and "denied" in gone.stderr
    finally:
        own.close()
        as_root(
            f"DROP USER IF EXISTS '{reader}'@'%'",
            f"DROP USER IF EXISTS '{garrison_user}'@'%'",
            f"DROP DATABASE IF EXISTS `{name}`",
        )


@ON_MARIADB
def test_cli_enables_reports_and_disables_without_showing_the_password(
    store: Store, tmp_path: Path
) -> None:
    user, name = unique("reader"), unique("ExternalAccess")
    env = {"GARRISON_DATA_DIR": str(tmp_path), "GARRISON_DATABASE_URL": store.url}
    cli, runner = garrison_cli(), CliRunner()

    def run(*args: str, **extra_env: str) -> str:
        result = runner.invoke(cli, ["external-db", *args], env={**env, **extra_env})
        assert result.exit_code == 0, (result.output, result.exception)
        assert PASSWORD not in result.output
        return result.output

    try:
        out = run("enable", "--user", user, "--name", name, GARRISON_EXTERNAL_DB_PASSWORD=PASSWORD)
        assert "external access enabled" in out and "ALERTS" in out and f"'{user}'@'%'" in out
        # The password variable left set does not upset the settings of other commands.
        out = run("status", "--user", user, "--name", name, GARRISON_EXTERNAL_DB_PASSWORD="x")
        assert "up to date" in out
        rows = mariadb(store, user, PASSWORD, name, "SELECT COUNT(*) AS N FROM SEVERITY")
        assert by_name(rows) == [{"N": "4"}]
        assert "disabled" in run("disable", "--user", user, "--name", name, "--yes")
        assert "disabled" in run("status", "--user", user, "--name", name)
    finally:
        manage.disable(store, user=user, name=name)
    help_text = runner.invoke(cli, ["external-db", "enable", "--help"]).output
    assert "--allow-host" in help_text and "GARRISON_EXTERNAL_DB_PASSWORD" in help_text


# -- PostgreSQL, with psql ----------------------------------------------------------------


@ON_POSTGRESQL
def test_postgresql_reader_reads_the_schema_with_psql(access: Enabled) -> None:
    def as_reader(sql: str) -> list[dict[str, str]]:
        answer = psql(access.store, access.user, PASSWORD, sql)
        assert answer.returncode == 0, answer.stderr
        return by_name(answer)

    views = as_reader(
        f"SELECT table_name FROM information_schema.views WHERE table_schema = '{access.container}'"
    )
    assert {v["table_name"] for v in views} == {name.lower() for name in TABLES}
    columns = as_reader(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = '{access.container}' AND table_name = 'alerts' "
        "ORDER BY ordinal_position"
    )
    assert [c["column_name"] for c in columns] == [c.lower() for c in ALERTS_COLUMNS]

    # The SMS's SQL runs unchanged: unquoted names, the schema on the search path.
    rows = as_reader(
        "SELECT SEQUENCE_NUM, DEVICE_ID, END_TIME, SRC_IP_ADDR, SRC_IP_ADDR_2, XFF_IP_ADDR, "
        "XFF_IP_ADDR_HIGH, RATE_LIMIT_RATE FROM ALERTS ORDER BY SEQUENCE_NUM"
    )
    first, second = rows[0], rows[1]
    assert first["device_id"] == str(access.seeded.edge)
    assert first["end_time"] == str(epoch_ms(T0))
    assert (first["src_ip_addr"], first["src_ip_addr_2"]) == (str(0x0A010203), "0")
    assert (second["src_ip_addr"], second["src_ip_addr_2"]) == (
        str(signed(0x8000000000000001)),
        str(signed(0xFFFF000100020003)),
    )
    assert (first["xff_ip_addr"], first["xff_ip_addr_high"]) == (
        second["src_ip_addr"],
        second["src_ip_addr_2"],
    )
    assert first["rate_limit_rate"] == "2 Mbps"
    qualified = as_reader(f"SELECT COUNT(*) AS n FROM {access.name}.SEVERITY")
    assert qualified == [{"n": "4"}]

    for sql in (
        "SELECT * FROM public.events",
        "SELECT * FROM public.users",
        "INSERT INTO profile (id, name) VALUES ('x', 'y')",
        "UPDATE signature SET name = 'x'",
        "SET default_transaction_read_only = off; UPDATE signature SET name = 'x'",
        "CREATE TABLE public.notes (a int)",
        f"CREATE TABLE {access.container}.notes (a int)",
    ):
        answer = psql(access.store, access.user, PASSWORD, sql)
        assert answer.returncode != 0, sql
        assert "permission denied" in answer.stderr or "read-only" in answer.stderr, answer.stderr


@ON_POSTGRESQL
def test_postgresql_refresh_and_disable(access: Enabled) -> None:
    with access.store.engine.begin() as conn:
        conn.execute(text(f"DROP VIEW {access.container}.severity"))
    assert manage.status(access.store, user=access.user, name=access.name).missing == ("severity",)
    manage.refresh(access.store, name=access.name)
    answer = psql(access.store, access.user, PASSWORD, "SELECT COUNT(*) AS n FROM severity")
    assert by_name(answer) == [{"n": "4"}], answer.stderr  # the role kept SELECT

    manage.disable(access.store, user=access.user, name=access.name)
    gone = psql(access.store, access.user, PASSWORD, "SELECT 1")
    assert gone.returncode != 0 and "does not exist" in gone.stderr
    assert not manage.status(access.store, user=access.user, name=access.name).exists


@ON_POSTGRESQL
def test_postgresql_garrison_role_needs_just_createrole(store: Store) -> None:
    """A Garrison role that owns its database needs CREATEROLE and nothing more; a
    refusal leaves nothing behind (one transaction)."""
    tag = unique("g")
    garrison_role, database, reader = f"garrison_{tag}", f"garrison_test_{tag}", f"reader_{tag}"
    admin = store.engine.execution_options(isolation_level="AUTOCOMMIT")

    def as_admin(*statements: str) -> None:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))

    as_admin(
        f"CREATE ROLE {garrison_role} LOGIN PASSWORD 'garrison pw'",
        f"CREATE DATABASE {database} OWNER {garrison_role}",
    )
    url = store.engine.url.set(username=garrison_role, password="garrison pw", database=database)
    own = Store(url.render_as_string(hide_password=False))
    try:
        upgrade(own.engine)
        seed(own)
        with pytest.raises(ExternalAccessError, match="needs CREATEROLE"):
            manage.enable(own, PASSWORD, user=reader)
        assert not manage.status(own, user=reader).exists

        as_admin(f"ALTER ROLE {garrison_role} CREATEROLE")
        manage.enable(own, PASSWORD, user=reader)
        answer = psql(own, reader, PASSWORD, "SELECT COUNT(*) AS n FROM alerts")
        assert by_name(answer) == [{"n": "4"}], answer.stderr
        manage.disable(own, user=reader)
        assert psql(own, reader, PASSWORD, "SELECT 1").returncode != 0
    finally:
        own.close()
        as_admin(
            f"DROP DATABASE IF EXISTS {database}",
            f"DROP ROLE IF EXISTS {reader}",
            f"DROP ROLE IF EXISTS {garrison_role}",
        )


@ON_POSTGRESQL
def test_postgresql_allowed_hosts_are_pg_hba_lines(store: Store) -> None:
    with enabled(store, allowed_hosts=["10.0.0.0/8"]) as access:
        outcome = manage.enable(
            store, PASSWORD, user=access.user, name=access.name, allowed_hosts=["10.0.0.0/8"]
        )
    database = store.engine.url.database
    assert f"host  {database}  {access.user}  10.0.0.0/8  scram-sha-256" in outcome.notes


# -- both: the views agree with the Web service -------------------------------------------


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value


@ON_BOTH
def test_every_view_agrees_with_the_data_access_web_service(access: Enabled) -> None:
    backend = manage.status(access.store, user=access.user, name=access.name).backend
    device_numbers = {device_uuid(n): n for n in (access.seeded.edge, access.seeded.core)}
    for table in TABLES.values():
        served = [list(row) for row in read_all(access.store, table)]
        if table.name == "ALERTS":  # ExternalAccess: DEVICE_ID is the device's number
            at = table.names.index("DEVICE_ID")
            for row in served:
                row[at] = device_numbers.get(row[at])
        view = database_name(table.name, backend)
        quote = access.store.engine.dialect.identifier_preparer.quote
        with access.store.engine.connect() as conn:
            found = conn.execute(text(f"SELECT * FROM {quote(access.container)}.{quote(view)}"))
            rows = [[_plain(v) for v in row] for row in found]
        assert len(rows) == len(served), table.name
        for got, want in zip(sorted(rows, key=repr), sorted(served, key=repr), strict=True):
            differ = {n: (g, w) for n, g, w in zip(table.names, got, want, strict=True) if g != w}
            assert not differ, f"{table.name}: view, Web service: {differ}"
    assert len(list(read_all(access.store, TABLES["ALERTS"]))) == 4


# -- SQLite ----------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_says_external_access_needs_mariadb_or_postgresql(
    store: Store, tmp_path: Path
) -> None:
    # The command line, on the data directory whose SQLite database `store` is.
    assert store.url == f"sqlite:///{tmp_path / 'garrison.db'}"
    result = CliRunner().invoke(
        garrison_cli(),
        ["external-db", "enable"],
        env={"GARRISON_DATA_DIR": str(tmp_path), "GARRISON_EXTERNAL_DB_PASSWORD": PASSWORD},
    )
    assert isinstance(result.exception, Unsupported)  # `garrison` prints it as one line
    assert "needs Garrison on MariaDB or PostgreSQL" in str(result.exception)
    for attempt in (
        lambda: manage.enable(store, PASSWORD),
        lambda: manage.refresh(store),
        lambda: manage.status(store),
        lambda: manage.disable(store),
    ):
        with pytest.raises(Unsupported, match="needs Garrison on MariaDB or PostgreSQL"):
            attempt()
