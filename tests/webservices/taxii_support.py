"""Helpers of the TAXII tests: STIX objects and bundles, POSTing them with `requests` as a
feed's script does, and reading the reputation store of the running server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from garrison.auth import Principal
from garrison.store.reputation import ReputationEntryRecord
from tests.support import RunningServer

STIX = "application/vnd.oasis.stix+json; version=2.0"
TAXII = "application/vnd.oasis.taxii+json; version=2.0"
COLLECTION = "00000000-0000-0000-0000-000000000001"
OBJECTS = f"/taxii/feeds/collections/{COLLECTION}/objects/"
ME = Principal.local_cli()

# The server's certificate is self-signed and clients skip verification, as SMS clients do.
quiet_tls = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def stix_id(kind: str = "indicator") -> str:
    return f"{kind}--{uuid.uuid4()}"


def indicator(pattern: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": stix_id(),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "labels": ["malicious-activity"],
        "pattern": pattern,
        "valid_from": "2026-01-01T00:00:00Z",
        **fields,
    }


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": stix_id("bundle"),
        "spec_version": "2.0",
        "objects": list(objects),
    }


def post(
    server: RunningServer,
    document: dict[str, Any] | bytes,
    *,
    content_type: str = STIX,
    path: str = OBJECTS,
) -> requests.Response:
    """POST a bundle (or raw bytes) with the API key, as a feed script does."""
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return requests.post(
        server.url() + path,
        data=data,
        headers={
            "X-SMS-API-KEY": server.api_key,
            "Content-Type": content_type,
            "Accept": TAXII,
        },
        verify=False,
        timeout=30,
    )


def entry(server: RunningServer, value: str, kind: str) -> ReputationEntryRecord | None:
    return server.services.reputation.get(ME, value, kind=kind)


def tags(server: RunningServer, value: str, kind: str) -> dict[str, str]:
    found = entry(server, value, kind)
    assert found is not None, f"no reputation entry {value}"
    return dict(found.tags)
