"""``repEntries/*``: add, delete, query and import reputation entries (facts sheet §1.2).

    repEntries/add?ip=|dns=|url=VALUE[&TagData=Cat,Val,...]            -> 200 "added VALUE"
    repEntries/delete?criteria=all|user|repdv                          -> 200 "deleted N entries"
    repEntries/delete?criteria=entry&ip=A&dns=B...   (or a file + type)  -> 200 "deleted N entries"
    repEntries/query?ip=A&ip=B...   (or dns=..., or url=...; one kind)   -> 200 lines | 204
    repEntries/import?type=ipv4|ipv6|dns|url + a multipart file         -> 200 "imported N entries"

Parameter names are taken in any case (``TagData``, ``tagdata``), and so are ``type`` and
``criteria`` values (tolerance rule 7). The wire formats are `garrison.reputation.wire`;
the entries' rules (canonical forms, tag categories) are `garrison.reputation.model`, and
every write is one transaction of `ReputationService`, so an import is all or nothing.

Status codes: 400 for a missing, contradictory or malformed parameter or file line (the
line number in the reason); 412 when a tag names a category that does not exist (the SMS
requires categories first) and, for ``query``, when a value does not parse (rule 9:
200 = found, 204 = nothing matches, 412 = syntax error); 403 without the reputation
capability the operation needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from garrison.auth import Capability
from garrison.errors import Invalid
from garrison.reputation.model import EntryKind, UnknownCategory, parse_entry
from garrison.reputation.service import MAX_QUERY, EntryInput
from garrison.reputation.wire import (
    format_answer,
    parse_entry_type,
    parse_import,
    parse_tag_data,
)
from garrison.store.reputation import ReputationEntryRecord, UpsertOutcome
from garrison.webservices.params import FORM, MULTIPART, Params, media_type
from garrison.webservices.responses import WebServiceError, text

if TYPE_CHECKING:
    from garrison.webservices.app import Call

T = TypeVar("T")

# The parameters naming entries, and the kind each names ("ip" is either family).
ENTRY_PARAMS: dict[str, EntryKind | str] = {"ip": "ip", "dns": EntryKind.DNS, "url": EntryKind.URL}
CRITERIA = ("all", "user", "repdv", "entry")
# Where a file may come other than as a file part: curl -F "file=<x.csv" sends it as a
# plain field under the name given.
FILE_FIELDS = ("file", "name", "requestfile", "uploadfile")


def _lowered(params: Params) -> Params:
    """The parameters with their names in lower case: scripts write ``TagData``,
    ``tagData`` and ``IP`` alike."""
    pairs = tuple((name.lower(), value) for name, value in params.pairs)
    return Params(pairs=pairs, files=params.files, body=params.body)


def _values(params: Params, name: str) -> list[str]:
    return [v.strip() for v in params.get_all(name) if v.strip()]


def _count(number: int) -> str:
    return f"{number} {'entry' if number == 1 else 'entries'}"


async def _run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking service call in the thread pool; a tag category that does not exist is
    a failed precondition (412), other rule breaks stay 400."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except UnknownCategory as exc:
        raise WebServiceError(412, str(exc)) from None


def _upload(call: Call, params: Params) -> tuple[str, bytes] | None:
    """(file name, content) of the uploaded file: the first file part whatever its field
    name; else a text field named like a file field; else a raw, non-form body."""
    part = params.first_file()
    if part is not None:
        return part.filename, part.data
    for name in FILE_FIELDS:
        value = params.get(name)
        if value:
            return name, value.encode("utf-8")
    kind = media_type(call.request.headers.get("content-type", ""))
    if params.body and kind not in (FORM, MULTIPART):
        return "body", params.body
    return None


# -- add ----------------------------------------------------------------------------------


async def add(call: Call) -> Response:
    """Add one entry, or replace the given tags of an entry that exists."""
    params = _lowered(call.params)
    given = [(name, value) for name in ENTRY_PARAMS if (value := params.single(name))]
    if len(given) != 1:
        named = " and ".join(name for name, _ in given) or "none"
        raise WebServiceError(400, f"give exactly one of ip, dns and url ({named} given)")
    name, value = given[0]
    kind = ENTRY_PARAMS[name]
    entry = parse_entry(value, kind)  # a bad address: Invalid, 400
    call.target = f"reputation:{entry.text}"
    raw = params.single("tagdata")
    tags = parse_tag_data(raw) if raw else {}
    call.detail["tags"] = sorted(tags)
    outcome = await _run(call.services.reputation.add, call.principal, value, tags, kind=kind)
    done = "added" if outcome.added else "updated"
    call.detail["outcome"] = done
    return text(f"{done} {entry.text}")


# -- delete -------------------------------------------------------------------------------


async def _named_entries(call: Call, params: Params) -> list[EntryInput]:
    """The entries a delete names: repeated ip=, dns= and url=, and the lines of a file
    (the import format; only the first field counts)."""
    items = [
        EntryInput(value, kind=kind)
        for name, kind in ENTRY_PARAMS.items()
        for value in _values(params, name)
    ]
    upload = _upload(call, params)
    if upload is not None:
        kind = parse_entry_type(params.single("type"))
        call.detail["file"] = upload[0]
        lines = await run_in_threadpool(parse_import, upload[1], kind)
        items += [EntryInput(line.value, kind=kind, line=line.line) for line in lines]
    return items


async def delete(call: Call) -> Response:
    params = _lowered(call.params)
    items = await _named_entries(call, params)
    raw = params.single("criteria")
    if raw is None and not items:
        raise WebServiceError(400, "criteria is required: all, user, repdv or entry")
    criteria = "entry" if raw is None else raw.lower()
    if criteria not in CRITERIA:
        raise WebServiceError(400, f"criteria {raw[:40]!r} is not one of {', '.join(CRITERIA)}")
    call.detail["criteria"] = criteria
    service = call.services.reputation
    if criteria == "entry":
        if not items:
            raise WebServiceError(
                400, "criteria=entry needs the entries: ip=, dns= or url= (or a file and type)"
            )
        named = items[0].value[:200] if len(items) == 1 else _count(len(items))
        call.target = f"reputation:{named}"
        call.detail["named"] = len(items)
        deleted = await _run(service.delete_many, call.principal, items)
    else:
        if items:
            raise WebServiceError(
                400, f"criteria={criteria} deletes by source; name entries with criteria=entry"
            )
        call.target = f"reputation:{criteria}"
        source = None if criteria == "all" else criteria
        deleted = await _run(service.delete_all, call.principal, source)
    call.detail["deleted"] = deleted
    return text(f"deleted {_count(deleted)}")


# -- query --------------------------------------------------------------------------------


def _lookup(call: Call, name: str) -> Callable[[list[str]], list[ReputationEntryRecord]]:
    service, actor = call.services.reputation, call.principal
    if name == "ip":
        return lambda values: service.query_addresses(actor, values)
    if name == "dns":
        return lambda values: service.query_names(actor, values)
    return lambda values: service.query_exact(actor, values, kind=EntryKind.URL)


async def query(call: Call) -> Response:
    """200 with one line per matching entry, sorted by address; 204 when none matches;
    412 when a value does not parse."""
    params = _lowered(call.params)
    given = {name: values for name in ENTRY_PARAMS if (values := _values(params, name))}
    if not given:
        raise WebServiceError(400, "name what to look up: ip=, dns= or url=, repeated for several")
    if len(given) > 1:
        raise WebServiceError(400, f"one kind per query: {' and '.join(given)} given")
    ((name, values),) = given.items()
    call.target = f"query:{name}"
    call.detail["values"] = len(values)
    if len(values) > MAX_QUERY:
        raise WebServiceError(400, f"at most {MAX_QUERY} values in one query; {len(values)} given")
    try:
        records = await run_in_threadpool(_lookup(call, name), values)
    except Invalid as exc:
        raise WebServiceError(412, str(exc)) from None
    call.detail["matched"] = len(records)
    if not records:
        return Response(status_code=204)
    return text(format_answer((r.value, r.tags) for r in records))


# -- import -------------------------------------------------------------------------------


async def import_(call: Call) -> Response:
    """Import a file of one entry kind in one transaction: every line or none."""
    call.principal.require(Capability.REPUTATION_WRITE)  # before parsing a large file
    params = _lowered(call.params)
    kind = parse_entry_type(params.single("type"))
    call.detail["type"] = str(kind)
    upload = _upload(call, params)
    if upload is None:
        raise WebServiceError(
            400, "import needs the file: a multipart file part (any field name) holding it"
        )
    filename, data = upload
    call.target = f"file:{filename}"
    call.detail["bytes"] = len(data)
    lines = await run_in_threadpool(parse_import, data, kind)
    call.detail["entries"] = len(lines)
    items = [EntryInput(line.value, line.tags, kind=kind, line=line.line) for line in lines]
    outcome = UpsertOutcome()
    if items:
        outcome = await _run(call.services.reputation.add_many, call.principal, items)
    call.detail.update(added=outcome.added, updated=outcome.updated)
    return text(f"imported {_count(len(items))} ({outcome.added} added, {outcome.updated} updated)")


METHODS = {"add": add, "delete": delete, "query": query, "import": import_}
