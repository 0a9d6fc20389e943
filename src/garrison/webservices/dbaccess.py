"""``dbAccess/tptDBServlet?method=...``: the SMS data-access servlet (facts sheet §1.2,
"Database access"), served from Garrison's own tables (`garrison.datatables`).

    method=Status                                   -> OK
    method=Version                                  -> the Web API's version
    method=Schema[&database=MySQL|Oracle][&table=T] -> CREATE TABLE statements
    method=DataDictionary[&format=sql|csv|xml][&mode=insert|update|replace][&table=T]
    method=GetData&table=T[&begin_time=MS&end_time=MS][&format=csv|sql|xml][&limit=N]
    method=GetNewestRecord|GetOldestRecord&table=T[&format=...]

Method, table, format, mode and database names are taken in any case. GetData of an
event table (ALERTS, DDOS_STATS, QUARANTINE_HOSTS, RATELIMIT_STATS) needs begin_time and
end_time (epoch milliseconds, both inclusive, compared with END_TIME, LAST_UPDATE or
STAT_TIME); GetData of any other table ignores them and answers the whole table
(tolerance rule 8). Answers stream: rows are read a page at a time in a worker thread
(`garrison.datatables.reader`) and formatted chunk by chunk (`garrison.datatables.formats`).

Errors, one line of text: 400 for a missing or malformed parameter (no method, a format,
mode or database that does not exist, bad or missing times, a bad limit, an event table
asked of DataDictionary or a dictionary table of GetNewestRecord); 404 for a method or a
table that does not exist (an unknown resource).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from garrison import __version__
from garrison.datatables import formats, reader, registry, schema
from garrison.datatables.model import Table
from garrison.webservices import responses
from garrison.webservices.responses import WebServiceError

if TYPE_CHECKING:
    from garrison.webservices.app import Call, Handler

SERVLET = "tptDBServlet"
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MEDIA_TYPES = {"csv": responses.CSV, "sql": responses.TEXT, "xml": responses.XML}


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _choice(call: Call, key: str, choices: Sequence[str], default: str) -> str:
    """A parameter that names one of ``choices`` (lower case), in any case."""
    value = call.params.single(key)
    if value is None:
        return default
    if value.lower() not in choices:
        raise WebServiceError(
            400, f"{key} {_shown(value)} is not one of {', '.join(choices)} (any case)"
        )
    return value.lower()


def _table(call: Call, *, required: bool) -> Table | None:
    name = call.params.single("table")
    if name is None:
        if required:
            raise WebServiceError(400, "table is required: the name of an SMS data table")
        return None
    table = registry.find(name)
    if table is None:
        known = ", ".join(registry.TABLES)
        raise WebServiceError(404, f"no table named {_shown(name)}; the tables are {known}")
    call.target = f"table:{table.name}"
    return table


def _millis(call: Call, key: str) -> int | None:
    value = call.params.single(key)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_MS:
        raise WebServiceError(
            400, f"{key} {_shown(value)} is not a time in milliseconds since 1970 (UTC)"
        )
    return int(value)


def _limit(call: Call) -> int | None:
    value = call.params.single("limit")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise WebServiceError(
            400, f"limit {_shown(value)} is not a whole number of rows (1 or more)"
        )
    return int(value)


def _stream(form: str, chunks: Iterator[str]) -> Response:
    # A sync iterator: Starlette runs each step (a page read, a chunk formatted) in a
    # worker thread, and the server's flow control paces it to the client.
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[form])


# -- the methods -------------------------------------------------------------------------------


async def status(call: Call) -> Response:
    return responses.text("OK")


async def version(call: Call) -> Response:
    return responses.text(__version__)


async def schema_ddl(call: Call) -> Response:
    database = _choice(call, "database", schema.DATABASES, "mysql")
    table = _table(call, required=False)
    tables = [table] if table is not None else list(registry.TABLES.values())
    call.detail.update(database=database)
    return responses.text(schema.ddl(tables, database))


async def data_dictionary(call: Call) -> Response:
    form = _choice(call, "format", formats.FORMATS, "sql")
    mode = _choice(call, "mode", formats.MODES, "insert")
    table = _table(call, required=False)
    if table is not None and table.has_times:
        raise WebServiceError(
            400,
            f"{table.name} is an event table: read it with method=GetData, begin_time and end_time",
        )
    tables = [table] if table is not None else list(registry.DICTIONARY_TABLES)
    call.detail.update(format=form, mode=mode)
    # The readers are generators: nothing is read until the answer is sent.
    pairs = [(t, reader.read_all(call.services.store, t)) for t in tables]
    return _stream(form, formats.chunks(form, pairs, mode))


async def get_data(call: Call) -> Response:
    table = _table(call, required=True)
    assert table is not None
    form = _choice(call, "format", formats.FORMATS, "csv")
    mode = _choice(call, "mode", formats.MODES, "insert")
    limit = _limit(call)
    begin, end = _millis(call, "begin_time"), _millis(call, "end_time")
    call.detail.update(format=form, begin_time=begin, end_time=end, limit=limit)
    store = call.services.store
    if not table.has_times:  # a dictionary table: the whole of it (tolerance rule 8)
        rows = reader.read_all(store, table, limit=limit)
    elif begin is None or end is None:
        raise WebServiceError(
            400,
            f"begin_time and end_time are required for {table.name}: "
            "milliseconds since 1970 (UTC), compared with its "
            f"{table.time_column}",
        )
    elif begin > end:
        raise WebServiceError(400, f"begin_time {begin} is after end_time {end}")
    else:
        rows = reader.read_range(store, table, begin, end, limit=limit)
    return _stream(form, formats.chunks(form, [(table, rows)], mode))


async def _edge(call: Call, *, newest: bool) -> Response:
    table = _table(call, required=True)
    assert table is not None
    if not table.has_times:
        names = ", ".join(t.name for t in registry.EVENT_TABLES)
        raise WebServiceError(
            400, f"{table.name} has no time: the newest or oldest record is of {names}"
        )
    form = _choice(call, "format", formats.FORMATS, "csv")
    mode = _choice(call, "mode", formats.MODES, "insert")
    call.detail.update(format=form)
    row = await run_in_threadpool(reader.edge, call.services.store, table, newest=newest)
    body = "".join(formats.chunks(form, [(table, [] if row is None else [row])], mode))
    return Response(body, media_type=MEDIA_TYPES[form])


async def get_newest(call: Call) -> Response:
    return await _edge(call, newest=True)


async def get_oldest(call: Call) -> Response:
    return await _edge(call, newest=False)


# The servlet's methods, by their names in lower case.
SERVLET_METHODS: dict[str, Handler] = {
    "status": status,
    "version": version,
    "schema": schema_ddl,
    "datadictionary": data_dictionary,
    "getdata": get_data,
    "getnewestrecord": get_newest,
    "getoldestrecord": get_oldest,
}
METHOD_NAMES = (
    "Status",
    "Version",
    "Schema",
    "DataDictionary",
    "GetData",
    "GetNewestRecord",
    "GetOldestRecord",
)


async def servlet(call: Call) -> Response:
    """``dbAccess/tptDBServlet``: the ``method`` parameter picks the method."""
    method = call.params.single("method")
    if method is None:
        raise WebServiceError(400, f"method is required: one of {', '.join(METHOD_NAMES)}")
    handler = SERVLET_METHODS.get(method.lower())
    if handler is None:
        raise WebServiceError(
            404,
            f"no {SERVLET} method {_shown(method)}; it offers {', '.join(METHOD_NAMES)}",
        )
    call.detail["method"] = method
    return await handler(call)


METHODS: dict[str, Handler] = {SERVLET: servlet}
