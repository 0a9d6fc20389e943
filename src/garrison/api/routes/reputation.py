"""The reputation store over REST: tag categories (list, read, create, delete) and entries
(page through, read, add one or a batch, query as ``repEntries/query`` does, delete, and
import a file in the SMS's import format).

The same `ReputationService` serves the SMS Web services (``repEntries/*``), so an entry
added here is answered there and the other way round. Writes are all or nothing; errors
are the JSON error model of /api/v1 (an unknown tag category or a bad file line is a 422
whose message names it, with the line number for files).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import error_responses
from garrison.api.schemas import Request as Body
from garrison.auth import Capability
from garrison.errors import GarrisonError, Invalid, NotFound
from garrison.reputation.model import (
    MAX_CATEGORY_NAME,
    MAX_CHOICES,
    MAX_URL,
    TEXT_LIMIT,
    TagCategory,
    TagKind,
)
from garrison.reputation.service import MAX_QUERY, EntryInput
from garrison.reputation.wire import parse_entry_type, parse_import
from garrison.services import Services
from garrison.store.reputation import ReputationEntryRecord
from garrison.webservices.params import MULTIPART, media_type, parse

router = APIRouter(tags=["reputation"])

MAX_IMPORT_BYTES = 100 * 1024 * 1024  # as the Web services take
BIGINT = 2**63 - 1
EntryType = Literal["ip", "ipv4", "ipv6", "dns", "url"]
Source = Literal["user", "repdv"]
EntryValue = Annotated[str, Field(min_length=1, max_length=MAX_URL)]
TagValue = bool | int | str | list[str]


# -- bodies ---------------------------------------------------------------------------------


class TagCategoryIn(Body):
    name: str = Field(min_length=1, max_length=MAX_CATEGORY_NAME)
    kind: TagKind = Field(description="text, range (whole numbers), list, or yesno")
    description: str = Field("", max_length=TEXT_LIMIT)
    minimum: int | None = Field(None, ge=-BIGINT, le=BIGINT, description="range only")
    maximum: int | None = Field(None, ge=-BIGINT, le=BIGINT, description="range only")
    values: list[str] = Field(default_factory=list, max_length=MAX_CHOICES, description="list")
    multiple: bool = Field(False, description="a list tag may hold several of its values")


class TagCategoryOut(BaseModel):
    name: str
    kind: TagKind
    description: str
    minimum: int | None
    maximum: int | None
    values: list[str]
    multiple: bool
    read_only: bool
    created_at: datetime | None

    @classmethod
    def of(cls, category: TagCategory) -> TagCategoryOut:
        return cls(
            name=category.name,
            kind=category.kind,
            description=category.description,
            minimum=category.minimum,
            maximum=category.maximum,
            values=list(category.choices),
            multiple=category.multiple,
            read_only=category.read_only,
            created_at=category.created_at,
        )


class EntryIn(Body):
    value: EntryValue = Field(examples=["10.0.0.0/8", "evil.example", "[exact.example]"])
    kind: EntryType | None = Field(None, description="guessed from the value when absent")
    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        max_length=64,
        description="category -> value; a list tag takes a list or values joined with ~~~",
    )
    expires_at: datetime | None = Field(
        None, description="with a time zone; also set by the Reputation Entries TTL tag"
    )

    def input(self) -> EntryInput:
        return EntryInput(
            value=self.value, tags=self.tags, kind=self.kind, expires_at=self.expires_at
        )


class EntryOut(BaseModel):
    id: int
    kind: str
    value: str = Field(description="the canonical form (10.0.0.0/8, [exact.example])")
    source: str
    added_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    tags: dict[str, str] = Field(description="category -> value; list values joined by ~~~")

    @classmethod
    def of(cls, record: ReputationEntryRecord) -> EntryOut:
        return cls(
            id=record.id,
            kind=record.kind,
            value=record.value,
            source=record.source,
            added_by=record.added_by,
            created_at=record.created_at,
            updated_at=record.updated_at,
            expires_at=record.expires_at,
            tags=dict(record.tags),
        )


class BatchIn(Body):
    entries: list[EntryIn] = Field(min_length=1, max_length=MAX_QUERY)


class WriteOut(BaseModel):
    added: int
    updated: int


class ImportOut(WriteOut):
    entries: int = Field(description="entries in the file")


class QueryIn(Body):
    kind: Literal["ip", "dns", "url"] = Field(
        description="ip: entries containing the addresses; dns: substring and exact names"
    )
    values: list[EntryValue] = Field(min_length=1, max_length=MAX_QUERY)


class DeleteIn(Body):
    criteria: Literal["all", "user", "repdv", "entry"] = Field(
        description="all entries, those of a source, or the entries named in values"
    )
    values: list[EntryValue] = Field(default_factory=list, max_length=MAX_QUERY)
    kind: EntryType | None = None


class DeleteOut(BaseModel):
    deleted: int


# -- tag categories ---------------------------------------------------------------------------


@router.get(
    "/reputation/tag-categories",
    response_model=list[TagCategoryOut],
    responses=error_responses(403),
)
def list_categories(
    principal: CurrentPrincipal, svc: Services = Depends(services)
) -> list[TagCategoryOut]:
    return [TagCategoryOut.of(c) for c in svc.reputation.list_categories(principal)]


@router.post(
    "/reputation/tag-categories",
    response_model=TagCategoryOut,
    status_code=201,
    responses=error_responses(403, 409),
)
def create_category(
    body: TagCategoryIn, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> TagCategoryOut:
    category = svc.reputation.create_category(
        principal,
        body.name,
        body.kind,
        description=body.description,
        minimum=body.minimum,
        maximum=body.maximum,
        values=body.values,
        multiple=body.multiple,
    )
    return TagCategoryOut.of(category)


@router.get(
    "/reputation/tag-categories/{name}",
    response_model=TagCategoryOut,
    responses=error_responses(403, 404),
)
def get_category(
    name: str, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> TagCategoryOut:
    for category in svc.reputation.list_categories(principal):
        if category.name == name.strip():
            return TagCategoryOut.of(category)
    raise NotFound(f"tag category {name.strip()!r} does not exist")


@router.delete(
    "/reputation/tag-categories/{name}",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404, 409),
)
def delete_category(
    name: str,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    force: bool = Query(False, description="also when entries use it (their tags of it go)"),
) -> Response:
    """Delete a tag category. Read-only and built-in ones cannot be deleted (422); one in
    use only with ``force`` (409 without)."""
    svc.reputation.delete_category(principal, name, force=force)
    return Response(status_code=204)


# -- entries ----------------------------------------------------------------------------------


@router.get("/reputation/entries", response_model=list[EntryOut], responses=error_responses(403))
def list_entries(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    after: int = Query(0, ge=0, le=BIGINT, description="the last id of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
    kind: Literal["ipv4", "ipv6", "dns", "url"] | None = Query(None),
    source: Source | None = Query(None),
) -> list[EntryOut]:
    """Entries by id, a page at a time: pass the last id seen as ``after``."""
    records = svc.reputation.list_entries(
        principal, after=after, limit=limit, kind=kind, source=source
    )
    return [EntryOut.of(r) for r in records]


@router.post(
    "/reputation/entries",
    response_model=EntryOut,
    status_code=201,
    responses={200: {"model": EntryOut, "description": "updated"}, **error_responses(403)},
)
def add_entry(
    body: EntryIn,
    principal: CurrentPrincipal,
    response: Response,
    svc: Services = Depends(services),
) -> EntryOut:
    """Add an entry (201), or update an existing one's given tags (200)."""
    outcome = svc.reputation.add(
        principal, body.value, body.tags, kind=body.kind, expires_at=body.expires_at
    )
    if not outcome.added:
        response.status_code = 200
    record = svc.reputation.get(principal, body.value, kind=body.kind)
    if record is None:  # deleted or expired by someone else at once
        raise NotFound(f"{body.value.strip()!r} is gone again")
    return EntryOut.of(record)


@router.get(
    "/reputation/entries/{value:path}",
    response_model=EntryOut,
    responses=error_responses(403, 404),
)
def get_entry(
    value: str,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    kind: EntryType | None = Query(None),
) -> EntryOut:
    """The entry itself (``10.1.2.3/8`` names ``10.0.0.0/8``; a URL percent-encoded). To
    find the entries matching an address or name, use ``POST /reputation/query``."""
    record = svc.reputation.get(principal, value, kind=kind)
    if record is None:
        raise NotFound(f"no reputation entry {value.strip()[:200]!r}")
    return EntryOut.of(record)


@router.delete(
    "/reputation/entries/{value:path}",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404),
)
def delete_entry(
    value: str,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    kind: EntryType | None = Query(None),
) -> Response:
    if not svc.reputation.delete(principal, [value], kind=kind):
        raise NotFound(f"no reputation entry {value.strip()[:200]!r}")
    return Response(status_code=204)


@router.post("/reputation/batch", response_model=WriteOut, responses=error_responses(403))
def add_batch(
    body: BatchIn, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> WriteOut:
    """Add or update up to 10,000 entries in one transaction: all or none (the error
    names the first bad entry by its position)."""
    outcome = svc.reputation.add_many(principal, [entry.input() for entry in body.entries])
    return WriteOut(added=outcome.added, updated=outcome.updated)


@router.post("/reputation/query", response_model=list[EntryOut], responses=error_responses(403))
def query_entries(
    body: QueryIn, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> list[EntryOut]:
    """The entries matching up to 10,000 values, as ``repEntries/query``: for ``ip``, the
    entries containing each address or block; for ``dns``, exact entries equal to a name
    and substring entries within it; for ``url``, the URLs themselves. Sorted by address;
    an empty list when nothing matches."""
    reputation = svc.reputation
    if body.kind == "ip":
        records = reputation.query_addresses(principal, body.values)
    elif body.kind == "dns":
        records = reputation.query_names(principal, body.values)
    else:
        records = reputation.query_exact(principal, body.values, kind="url")
    return [EntryOut.of(r) for r in records]


@router.post("/reputation/delete", response_model=DeleteOut, responses=error_responses(403))
def delete_entries(
    body: DeleteIn, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> DeleteOut:
    """As ``repEntries/delete``: ``criteria`` all, user or repdv deletes by source;
    ``entry`` deletes the entries named in ``values``."""
    if body.criteria == "entry":
        if not body.values:
            raise Invalid("criteria entry needs the entries in values")
        items = [EntryInput(value, kind=body.kind) for value in body.values]
        return DeleteOut(deleted=svc.reputation.delete_many(principal, items))
    if body.values:
        raise Invalid(f"criteria {body.criteria} deletes by source; name entries with entry")
    source = None if body.criteria == "all" else body.criteria
    return DeleteOut(deleted=svc.reputation.delete_all(principal, source))


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file: as the body, or the first file part of a multipart form",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string"}}}
            },
        },
    }
}


@router.post(
    "/reputation/import",
    response_model=ImportOut,
    responses=error_responses(403, 413),
    openapi_extra=IMPORT_BODY,
)
async def import_entries(
    request: Request,
    principal: CurrentPrincipal,
    entry_type: str = Query(
        "ipv4", alias="type", max_length=16, description="ipv4, ipv6, dns or url, any case"
    ),
) -> ImportOut:
    """Import a file in the SMS's import format (CSV; pipe-delimited for URLs; the entry
    first, then category,value pairs) in one transaction: every line or none. A bad line
    is a 422 naming its line number."""
    principal.require(Capability.REPUTATION_WRITE)  # before reading a large body
    svc = services(request)
    kind = parse_entry_type(entry_type)
    data = await _file(request)
    lines = await asyncio.to_thread(parse_import, data, kind)
    items = [EntryInput(line.value, line.tags, kind=kind, line=line.line) for line in lines]
    if not items:
        return ImportOut(entries=0, added=0, updated=0)
    outcome = await asyncio.to_thread(svc.reputation.add_many, principal, items)
    return ImportOut(entries=len(items), added=outcome.added, updated=outcome.updated)


class TooLarge(GarrisonError):
    """An upload over the limit (the error handler reads ``status``)."""

    status = 413


async def _file(request: Request) -> bytes:
    """The uploaded file: the body, or a multipart body's first file part (any name)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise TooLarge(f"the file is over the {MAX_IMPORT_BYTES // 2**20} MiB limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    content_type = request.headers.get("content-type", "")
    if media_type(content_type) != MULTIPART:
        return body
    try:
        part = parse(b"", content_type, body).first_file()
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if part is None:
        raise Invalid("the multipart body has no file part")
    return part.data
