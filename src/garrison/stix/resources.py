"""The TAXII 2.0 resources the SMS serves, as JSON-ready dicts, and its media types. Pure.

The shapes and values are the SMS's (facts sheet §1.2): one API root, ``feeds``, with one
collection, "User Reputation Entries", that takes STIX bundles and is listed with
``can_write: false`` but shown alone with ``can_write: true``. URLs name the host the
client used, so that they work through whatever name or address it reached Garrison by.
"""

from __future__ import annotations

from email.message import Message
from http import HTTPStatus
from typing import Any

TAXII_MEDIA_TYPE = "application/vnd.oasis.taxii+json; version=2.0"
STIX_MEDIA_TYPE = "application/vnd.oasis.stix+json; version=2.0"
STIX_VERSION = "2.0"
MAX_CONTENT_LENGTH = 2_097_152  # bytes of a POST body; the API root announces it

TITLE = "TippingPoint Security Management System"
API_ROOT = "feeds"
API_ROOT_TITLE = "TAXII feeds"
VERSIONS = ("taxii-2.0",)
COLLECTION_ID = "00000000-0000-0000-0000-000000000001"
COLLECTION_TITLE = "User Reputation Entries"


def api_root_url(host: str) -> str:
    return f"https://{host}/taxii/{API_ROOT}/"


def discovery(host: str) -> dict[str, Any]:
    url = api_root_url(host)
    return {"title": TITLE, "default": url, "api_roots": [url]}


def api_root() -> dict[str, Any]:
    return {
        "title": API_ROOT_TITLE,
        "versions": list(VERSIONS),
        "max_content_length": MAX_CONTENT_LENGTH,
    }


def collection(*, can_write: bool) -> dict[str, Any]:
    return {
        "id": COLLECTION_ID,
        "title": COLLECTION_TITLE,
        "can_read": True,
        "can_write": can_write,
    }


def collections() -> dict[str, Any]:
    return {"collections": [collection(can_write=False)]}


def error(status: int, description: str) -> dict[str, Any]:
    """A TAXII error message; ``http_status`` is a string, as TAXII 2.0 has it."""
    return {
        "title": HTTPStatus(status).phrase,
        "description": " ".join(description.split()),
        "http_status": str(status),
    }


def stix_media_problem(content_type: str) -> str | None:
    """Why a POST body of ``content_type`` is not a STIX 2.0 bundle, or None when it is.
    ``application/vnd.oasis.stix+json`` with ``version=2.0`` or no version is one."""
    header = Message()
    header["content-type"] = content_type or "application/octet-stream"
    wanted = STIX_MEDIA_TYPE.partition(";")[0]
    if header.get_content_type() != wanted or not content_type:
        shown = content_type.strip()[:80] or "none"
        return f"Content-Type must be {STIX_MEDIA_TYPE}, not {shown}"
    version = header.get_param("version")
    if version is not None and version != STIX_VERSION:
        return f"this server takes STIX {STIX_VERSION} bundles, not version={str(version)[:20]}"
    return None
