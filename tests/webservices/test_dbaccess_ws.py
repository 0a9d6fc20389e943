"""dbAccess/tptDBServlet on a real Garrison HTTPS server, called with curl as SMS scripts
call it: every method, the three formats parsed with csv and xml.etree and checked field
by field against the facts sheet, each auth form, sloppy paths, and a one-line reason for
every bad request. Events arrive through the HTTPS ingest path and the store; GetData of
ALERTS is also checked on PostgreSQL and MariaDB."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from garrison.datatables.identifiers import device_uuid, signature_uuid
from garrison.datatables.registry import DICTIONARY_TABLES
from garrison.events.model import Action, Event, EventKind
from garrison.store.devices import Devices
from garrison.store.events import EventRows
from garrison.store.responder import Responses
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server, wait_for
from tests.webservices.curl_peer import Reply, curl, needs_curl
from tests.webservices.dbaccess_support import ALERTS_COLUMNS
from tests.webservices.ws_support import ADMIN, module_server, q

pytestmark = needs_curl

SERVLET = "/dbAccess/tptDBServlet"
T0 = datetime(2026, 1, 31, 12, 0, 0, 250_000, tzinfo=UTC)
T0_MS = 1769860800250
RANGE = {"begin_time": str(T0_MS - 3_600_000), "end_time": str(T0_MS + 3_600_000)}
# The events pushed over HTTPS, as a device's JSON.
INGESTED = [
    {
        "kind": "alert",
        "severity": "critical",
        "device_name": "edge-1",
        "sequence": 1001,
        "alert_type": 2,
        "signature_id": "00000001-0001-0001-0001-000000007610",
        "signature_number": 7610,
        "name": "7610: HTTP: SQL injection",
        "begin_time": T0_MS - 60_000,
        "end_time": T0_MS,
        "hit_count": 4,
        "src_ip": "192.168.1.1",
        "src_port": 40000,
        "dst_ip": "2001:db8::ff:1",
        "dst_port": 80,
        "vlan": 12,
        "action": "block",
        "action_set": "Block / Notify",
        "packet_trace": True,
        "message_params": "GET|/x",
        "extra": {"suser": "alice", "requestMethod": "GET"},
    },
    {"kind": "alert", "signature_number": 7611, "end_time": T0_MS + 1000, "src_ip": "10.0.0.9"},
    {"kind": "device-log", "message": "not an alert", "end_time": T0_MS},
]


def call(server: RunningServer, *args: str, **params: str) -> Reply:
    return curl(server, SERVLET + q(**params, **ADMIN), *args)


def csv_rows(reply: Reply) -> list[dict[str, str]]:
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(reply.body, newline="")))


def csv_header(reply: Reply) -> list[str]:
    return next(csv.reader(io.StringIO(reply.body, newline="")))


def xml_table(reply: Reply) -> ET.Element:
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "text/xml; charset=utf-8"
    assert reply.body.startswith('<?xml version="1.0" ?>\n<resultset><table name=')
    root = ET.fromstring(reply.body.encode("utf-8"))
    assert root.tag == "resultset"
    table = root.find("table")
    assert table is not None
    return table


def one_line_error(reply: Reply, status: int, fragment: str) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.body.endswith("\n") and reply.body.count("\n") == 1, reply.body
    assert fragment in reply.body, reply.body


def seed(server: RunningServer) -> dict[str, Any]:
    """A device, events through the HTTPS ingest and the store, a Responder response."""
    svc = server.services
    with server.admin() as api:
        pushed = api.post("/api/v1/events/ingest", json=INGESTED)
        assert pushed.status_code == 202, pushed.text
    with svc.store.transaction() as tx:
        device = Devices(tx.session).add(name="edge-1", address="10.0.0.1")
        EventRows(tx.session).insert_many(
            [
                Event(
                    kind=EventKind.QUARANTINE,
                    collector="snmp-trap",
                    source_address="10.0.0.1",
                    device_id=device.id,
                    src_ip="10.5.5.5",
                    action=Action.QUARANTINE,
                    received_at=T0 + timedelta(seconds=2),
                )
            ]
        )
        response = Responses(tx.session).add(
            actions=[],
            evidence=[],
            plan={},
            policy_name="Web Policy",
            address="10.5.5.5",
            mac="00:11:22:33:44:55",
            trigger="web-service",
            authority="admin",
            host_state="QUARANTINED",
        )

    def stored() -> bool:
        with svc.store.transaction() as tx:
            return EventRows(tx.session).newest_id() == 4

    wait_for("the ingested events in the store", stored)
    return {"device": device.id, "response": response.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(tmp_path_factory, "dbaccess")


@pytest.fixture(scope="module")
def seeded(live: RunningServer) -> dict[str, Any]:
    return seed(live)


# -- GetData ALERTS in the three formats, one auth form each ---------------------------------


def check_alerts_csv(reply: Reply, device: int) -> None:
    assert csv_header(reply) == ALERTS_COLUMNS
    # In the order they were stored; the device log is not an alert.
    hit, other, quarantine = sorted(csv_rows(reply), key=lambda r: int(r["END_TIME"]))
    assert hit["SEQUENCE_NUM"] == "1001" and hit["ALERT_TYPE_ID"] == "2"
    assert hit["SIGNATURE_ID"] == signature_uuid(7610) == "00000001-0001-0001-0001-000000007610"
    assert (hit["BEGIN_TIME"], hit["END_TIME"]) == (str(T0_MS - 60_000), str(T0_MS))
    assert (hit["SRC_IP_ADDR"], hit["SRC_IP_ADDR_HIGH"]) == ("3232235777", "0")  # 192.168.1.1
    # 2001:db8::ff:1 split into its low and high 64 bits.
    assert (hit["DST_IP_ADDR"], hit["DST_IP_ADDR_HIGH"]) == (
        str(0x0000_0000_00FF_0001),
        str(0x2001_0DB8_0000_0000),
    )
    assert (hit["SRC_PORT"], hit["DST_PORT"], hit["VLAN_TAG"]) == ("40000", "80", "12")
    assert (hit["SEVERITY"], hit["HIT_COUNT"], hit["PACKET_TRACE"]) == ("4", "4", "1")
    assert (hit["FLOW_CONTROL"], hit["ACTION_SET_NAME"]) == ("DENY", "Block / Notify")
    assert len(hit["ACTION_SET_UUID"]) == 36
    assert (hit["MESSAGE_PARMS"], hit["SRC_USER_NAME"], hit["URI_METHOD"]) == (
        "GET|/x",
        "alice",
        "GET",
    )
    assert hit["DEVICE_ID"] == "" and hit["QUARANTINE_ACTION"] == ""  # pushed: no inventory id
    assert (other["END_TIME"], other["SRC_IP_ADDR"]) == (str(T0_MS + 1000), "167772169")
    assert quarantine["QUARANTINE_ACTION"] == "Added"
    assert quarantine["DEVICE_ID"] == device_uuid(device)
    assert quarantine["END_TIME"] == str(T0_MS + 2000)


def test_getdata_alerts_csv_with_smsuser_and_smspass(live: RunningServer, seeded: Any) -> None:
    reply = call(live, method="GetData", table="ALERTS", **RANGE)
    check_alerts_csv(reply, seeded["device"])
    # Streamed, not sized up front.
    assert reply.headers.get("transfer-encoding") == "chunked"


def test_getdata_alerts_xml_with_basic_auth(live: RunningServer, seeded: Any) -> None:
    params = {"method": "GetData", "table": "ALERTS", "format": "xml", **RANGE}
    reply = curl(live, SERVLET + q(**params), "-u", f"admin:{ADMIN_PASSWORD}")
    table = xml_table(reply)
    assert table.get("name") == "ALERTS"
    columns = [(c.get("name"), c.get("type")) for c in table.findall("column")]
    assert [name for name, _ in columns] == ALERTS_COLUMNS
    types = dict(columns)
    assert (types["SEQUENCE_NUM"], types["SRC_IP_ADDR"], types["DEVICE_ID"]) == (
        "Long",
        "Long",
        "String",
    )
    assert types["SEVERITY"] == "Integer"
    rows = [[c.text or "" for c in r.findall("c")] for r in table.findall("data/r")]
    assert len(rows) == 3 and all(len(r) == len(ALERTS_COLUMNS) for r in rows)
    hit = min(
        (dict(zip(ALERTS_COLUMNS, r, strict=True)) for r in rows), key=lambda r: r["END_TIME"]
    )
    assert (hit["END_TIME"], hit["SRC_IP_ADDR"], hit["ACTION_SET_NAME"]) == (
        str(T0_MS),
        "3232235777",
        "Block / Notify",
    )


def test_getdata_alerts_sql_with_the_api_key_header(live: RunningServer, seeded: Any) -> None:
    params = {"method": "getdata", "table": "alerts", "format": "SQL", **RANGE}
    reply = curl(live, SERVLET + q(**params), "-H", f"X-SMS-API-KEY: {live.api_key}")
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    statements = reply.body.split(";\n")
    assert statements[-1] == "" and len(statements) == 4
    head = f"INSERT INTO ALERTS ({', '.join(ALERTS_COLUMNS)}) VALUES ("
    assert all(s.startswith(head) for s in statements[:-1])
    (hit,) = [s for s in statements if s.startswith(head + "1001, NULL, 2, '', ")]
    assert f", {T0_MS - 60_000}, {T0_MS}, 4, 3232235777, 0, 40000, " in hit


def test_getdata_limit_and_narrow_range(live: RunningServer, seeded: Any) -> None:
    every = csv_rows(call(live, method="GetData", table="ALERTS", **RANGE))
    rows = csv_rows(call(live, method="GetData", table="ALERTS", limit="2", **RANGE))
    assert rows == every[:2]
    exact = {"begin_time": str(T0_MS + 1000), "end_time": str(T0_MS + 1000)}
    rows = csv_rows(call(live, method="GetData", table="ALERTS", **exact))
    assert [r["SRC_IP_ADDR"] for r in rows] == ["167772169"]


def test_getdata_quarantine_hosts(live: RunningServer, seeded: Any) -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    window = {"begin_time": str(now - 3_600_000), "end_time": str(now + 3_600_000)}
    reply = call(live, method="GetData", table="QUARANTINE_HOSTS", **window)
    assert csv_header(reply) == [
        "ID", "QUARANTINED_IP", "QUARANTINED_MAC", "POLICY_NAME", "STATE", "AUTHORITY",
        "CREATE_TIME", "LAST_UPDATE",
    ]  # fmt: skip
    (row,) = csv_rows(reply)
    assert (row["ID"], row["QUARANTINED_IP"], row["QUARANTINED_MAC"]) == (
        str(seeded["response"]),
        "10.5.5.5",
        "00:11:22:33:44:55",
    )
    assert (row["POLICY_NAME"], row["STATE"], row["AUTHORITY"]) == (
        "Web Policy",
        "QUARANTINED",
        "admin",
    )
    assert abs(int(row["CREATE_TIME"]) - now) < 3_600_000


def test_empty_event_tables_answer_their_columns(live: RunningServer) -> None:
    reply = call(live, method="GetData", table="RATELIMIT_STATS", **RANGE)
    assert reply.body == "ACTIONSET_ID,STAT_TIME,DEVICE_ID,RATE,VALUE\r\n"


# -- dictionary tables, sloppy paths --------------------------------------------------------


def test_signature_without_times_on_a_sloppy_path(live: RunningServer, seeded: Any) -> None:
    # The path as some scripts build it: "&" where "?" belongs, no times.
    target = f"/dbAccess/tptDBServlet&method=GetData&table=SIGNATURE&format=csv&{urlencode(ADMIN)}"
    reply = curl(live, target)
    assert csv_header(reply) == [
        "ID", "NUM", "SEVERITY_ID", "NAME", "CLASS", "PRODUCT_CATEGORY_ID", "PROTOCOL",
        "TAXONOMY_ID", "CVE_ID", "BUGTRAQ_ID", "DESCRIPTION", "MESSAGE",
    ]  # fmt: skip
    (row,) = csv_rows(reply)  # learned from the one alert that named its signature UUID
    assert (row["ID"], row["NUM"], row["SEVERITY_ID"]) == (signature_uuid(7610), "7610", "4")
    assert (row["NAME"], row["CLASS"]) == ("7610: HTTP: SQL injection", "")


def test_device_table_and_post_form(live: RunningServer, seeded: Any) -> None:
    reply = curl(
        live, SERVLET, "-d", "method=DataDictionary", "-d", "table=device", "-d", "format=csv",
        "-d", "smsuser=admin", "--data-urlencode", f"smspass={ADMIN_PASSWORD}",
    )  # fmt: skip
    (row,) = csv_rows(reply)
    assert list(row) == [
        "ID", "SHORT_ID", "NAME", "MODEL", "SERIAL_NUMBER", "IP_ADDRESS", "LOCATION",
        "DV_VERSION", "OS_VERSION", "DEVICE_GROUP", "MANAGED",
    ]  # fmt: skip
    assert (row["ID"], row["SHORT_ID"], row["NAME"], row["IP_ADDRESS"], row["MANAGED"]) == (
        device_uuid(seeded["device"]),
        str(seeded["device"]),
        "edge-1",
        "10.0.0.1",
        "1",
    )


def test_data_dictionary_defaults_to_sql_inserts_of_every_table(live: RunningServer) -> None:
    reply = call(live, method="DataDictionary")
    assert reply.status == 200 and reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert "INSERT INTO SEVERITY (ID, NAME) VALUES (4, 'Critical');\n" in reply.body
    assert "INSERT INTO TAXONOMY_MAJOR (ID, NAME, DESCRIPTION) VALUES (1, " in reply.body
    replaced = call(live, method="DataDictionary", table="SEVERITY", mode="replace")
    assert replaced.body.startswith("REPLACE INTO SEVERITY (ID, NAME) VALUES (1, 'Low');\n")
    updated = call(live, method="DataDictionary", table="SEVERITY", mode="UPDATE")
    assert updated.body.startswith("UPDATE SEVERITY SET NAME = 'Low' WHERE ID = 1;\n")


def test_data_dictionary_xml_by_position(live: RunningServer) -> None:
    """As a script reads ACTIONSET: ``r.C[0]`` id, ``r.C[1]`` name, ``r.C[2]`` flow control."""
    table = xml_table(call(live, method="DataDictionary", table="ACTIONSET", format="xml"))
    rows = [[c.text for c in r] for r in table.findall("data/r")]
    assert rows, "the built-in action sets"
    assert {r[2] for r in rows} <= {"ALLOW", "DENY", "TRUST", "RATE"}
    assert ["Rate Limit 64 Kbps", "RATE", "64"] in [r[1:] for r in rows]
    everything = ET.fromstring(call(live, method="DataDictionary", format="xml").body)
    assert [t.get("name") for t in everything.findall("table")] == [
        t.name for t in DICTIONARY_TABLES
    ]


def test_status_version_schema(live: RunningServer) -> None:
    assert call(live, method="Status").body == "OK\n"
    version = call(live, method="version")
    assert version.status == 200 and version.body.strip()
    mysql = call(live, method="Schema")
    assert mysql.headers["content-type"] == "text/plain; charset=utf-8"
    assert "CREATE TABLE ALERTS (\n  SEQUENCE_NUM BIGINT,\n  DEVICE_ID VARCHAR(36)," in mysql.body
    assert "CREATE TABLE SIGNATURE (\n  ID VARCHAR(36) NOT NULL,\n  NUM INT," in mysql.body
    oracle = call(live, method="Schema", database="Oracle", table="severity")
    assert oracle.body == (
        "CREATE TABLE SEVERITY (\n  ID NUMBER(10) NOT NULL,\n  NAME VARCHAR2(64),\n"
        "  CONSTRAINT PK_SEVERITY PRIMARY KEY (ID)\n);\n"
    )


def test_newest_and_oldest_record(live: RunningServer, seeded: Any) -> None:
    (newest,) = csv_rows(call(live, method="GetNewestRecord", table="ALERTS"))
    (oldest,) = csv_rows(call(live, method="GetOldestRecord", table="alerts"))
    assert (newest["QUARANTINE_ACTION"], oldest["END_TIME"]) == ("Added", str(T0_MS))
    table = xml_table(call(live, method="GetNewestRecord", table="DDOS_STATS", format="xml"))
    assert table.findall("data/r") == [] and len(table.findall("column")) == 8


# -- bad requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({}, 400, "method is required"),
        ({"method": "DropTables"}, 404, "no tptDBServlet method 'DropTables'"),
        ({"method": "GetData"}, 400, "table is required"),
        ({"method": "GetData", "table": "USERS"}, 404, "no table named 'USERS'"),
        ({"method": "GetData", "table": "ALERTS"}, 400, "begin_time and end_time are required"),
        (
            {"method": "GetData", "table": "ALERTS", "begin_time": "2", "end_time": "1"},
            400,
            "begin_time 2 is after end_time 1",
        ),
        (
            {"method": "GetData", "table": "ALERTS", "begin_time": "yesterday", "end_time": "1"},
            400,
            "begin_time 'yesterday' is not a time in milliseconds",
        ),
        ({"method": "GetData", "table": "SIGNATURE", "format": "json"}, 400, "format 'json'"),
        ({"method": "GetData", "table": "SIGNATURE", "limit": "0"}, 400, "limit '0'"),
        ({"method": "DataDictionary", "mode": "merge"}, 400, "mode 'merge' is not one of"),
        ({"method": "DataDictionary", "table": "ALERTS"}, 400, "ALERTS is an event table"),
        ({"method": "GetNewestRecord", "table": "SIGNATURE"}, 400, "SIGNATURE has no time"),
        ({"method": "Schema", "database": "DB2"}, 400, "database 'DB2' is not one of"),
    ],
)
def test_bad_requests_get_a_status_and_one_line(
    live: RunningServer, params: dict[str, str], status: int, fragment: str
) -> None:
    one_line_error(call(live, **params), status, fragment)


def test_unknown_servlet_and_no_credentials(live: RunningServer) -> None:
    one_line_error(curl(live, "/dbAccess/otherServlet" + q(**ADMIN)), 404, "tptDBServlet")
    assert curl(live, SERVLET + q(method="Status")).status == 401


# -- the same on PostgreSQL and MariaDB ------------------------------------------------------


def test_getdata_alerts_on_each_database(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data", database={"url": database_url}, poller={"enabled": False}
    )
    with contextmanager(start_server)(settings) as server:
        seeded = seed(server)
        check_alerts_csv(call(server, method="GetData", table="ALERTS", **RANGE), seeded["device"])
        rows = xml_table(call(server, method="GetData", table="ALERTS", format="xml", **RANGE))
        assert len(rows.findall("data/r")) == 3


def test_audit_row_names_the_table(live: RunningServer) -> None:
    call(live, method="GetData", table="severity")
    with live.services.store.transaction() as tx:
        (row,) = tx.audit.query(action="webservices.dbAccess.tptDBServlet", limit=1)
    assert row.target == "table:SEVERITY"
    assert json.loads(row.detail)["method"] == "GetData"
    assert ADMIN_PASSWORD not in row.detail
