"""The TAXII 2.0 read resources on a real Garrison HTTPS server, called with curl as a
site's scripts do: discovery, API root, collections, the status of an unknown POST, the
404s the SMS answers for object reads, TAXII error messages, every credential form,
sloppy paths, and the audit row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from garrison.store import AuditRecord
from tests.support import ADMIN_PASSWORD, RunningServer
from tests.webservices.curl_peer import Reply, auth_forms, curl, needs_curl
from tests.webservices.taxii_support import COLLECTION, TAXII
from tests.webservices.ws_support import ADMIN, module_server, q

pytestmark = needs_curl


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(tmp_path_factory, "taxii")


def key(server: RunningServer) -> list[str]:
    return auth_forms(server)["api-key"][0]


def taxii(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == TAXII
    return json.loads(reply.body)


def host(server: RunningServer) -> str:
    return f"127.0.0.1:{server.ports['https']}"


def test_discovery_names_the_one_api_root_at_the_host_asked(live: RunningServer) -> None:
    document = taxii(curl(live, "/taxii/" + q(**ADMIN)))
    root = f"https://{host(live)}/taxii/feeds/"
    assert document == {
        "title": "TippingPoint Security Management System",
        "default": root,
        "api_roots": [root],
    }
    # The URLs follow the name the client used.
    aliased = taxii(curl(live, "/taxii/", *key(live), "-H", "Host: sms.example:8443"))
    assert aliased["default"] == "https://sms.example:8443/taxii/feeds/"


def test_discovery_with_basic_auth_and_sloppy_paths(live: RunningServer) -> None:
    for path in ("/taxii", "//taxii//", "/taxii/"):
        document = taxii(curl(live, path, "-u", f"admin:{ADMIN_PASSWORD}"))
        assert document["title"] == "TippingPoint Security Management System"


def test_api_root(live: RunningServer) -> None:
    for path in ("/taxii/feeds/", "/taxii/feeds", "/taxii//feeds//"):
        assert taxii(curl(live, path, *key(live))) == {
            "title": "TAXII feeds",
            "versions": ["taxii-2.0"],
            "max_content_length": 2097152,
        }


def test_the_collection_list_and_the_collection(live: RunningServer) -> None:
    listed = taxii(curl(live, "/taxii/feeds/collections/", *key(live)))
    assert listed == {
        "collections": [
            {
                "id": COLLECTION,
                "title": "User Reputation Entries",
                "can_read": True,
                "can_write": False,
            }
        ]
    }
    alone = taxii(curl(live, f"/taxii/feeds/collections/{COLLECTION}/", *key(live)))
    assert alone == {
        "id": COLLECTION,
        "title": "User Reputation Entries",
        "can_read": True,
        "can_write": True,
    }
    assert alone == taxii(curl(live, f"/taxii/feeds/collections/{COLLECTION.upper()}", *key(live)))


@pytest.mark.parametrize(
    "path",
    [
        f"/taxii/feeds/collections/{COLLECTION}/objects/",
        f"/taxii/feeds/collections/{COLLECTION}/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/",
        f"/taxii/feeds/collections/{COLLECTION}/manifest/",
        f"/taxii/feeds/collections/{COLLECTION}/objects?added_after=2026-01-01T00:00:00Z",
    ],
)  # fmt: skip
def test_object_and_manifest_reads_are_404_as_on_the_sms(live: RunningServer, path: str) -> None:
    error = taxii(curl(live, path, *key(live)), 404)
    assert error["title"] == "Not Found" and error["http_status"] == "404"
    assert "does not serve STIX objects for reading" in error["description"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/taxii/feeds/collections/11111111-0000-0000-0000-000000000001/", "no collection"),
        ("/taxii/feeds/collections/nope/objects/", "no collection 'nope'"),
        ("/taxii/feeds/status/5f2a9c3e-0000-4000-8000-000000000000/", "no status"),
        ("/taxii/other/", "no TAXII resource at /taxii/other/"),
        ("/taxii/feeds/collections/x/y/z/", "no TAXII resource"),
    ],
)
def test_unknown_resources_answer_taxii_errors(live: RunningServer, path: str, words: str) -> None:
    error = taxii(curl(live, path, *key(live)), 404)
    assert set(error) == {"title", "description", "http_status"}
    assert words in error["description"] and error["http_status"] == "404"


def test_a_read_resource_answers_post_as_get(live: RunningServer) -> None:
    reply = curl(live, "/taxii/feeds/", *key(live), "-X", "POST")
    assert taxii(reply)["title"] == "TAXII feeds"


def test_credentials_are_required_as_for_every_web_service(live: RunningServer) -> None:
    for credentials in ((), ("-u", "admin:wrong"), ("-H", "X-SMS-API-KEY: nope")):
        refused = taxii(curl(live, "/taxii/", *credentials), 401)
        assert refused["http_status"] == "401"
        assert refused["title"]
    # Verbs other than GET and POST are refused in TAXII's words too.
    assert taxii(curl(live, "/taxii/", *key(live), "-X", "PUT"), 405)["http_status"] == "405"


def newest_taxii_audit(server: RunningServer) -> AuditRecord:
    with server.services.store.transaction() as tx:
        rows = tx.audit.query(actor="admin", limit=20)
    found = [row for row in rows if row.action.startswith("webservices.taxii.")]
    assert found, "no audit row of a TAXII call"
    return found[0]


def test_every_call_is_audited(live: RunningServer) -> None:
    taxii(curl(live, f"/taxii/feeds/collections/{COLLECTION}/", *key(live)))
    row = newest_taxii_audit(live)
    assert (row.outcome, row.target) == ("success", f"collection:{COLLECTION}")
    assert json.loads(row.detail)["resource"] == f"/taxii/feeds/collections/{COLLECTION}"
    taxii(curl(live, "/taxii/feeds/status/gone/", *key(live)), 404)
    row = newest_taxii_audit(live)
    assert (row.action, row.outcome) == ("webservices.taxii.feeds.status.gone", "failure")
    detail = json.loads(row.detail)
    assert detail["status"] == 404 and "no status 'gone'" in detail["reason"]
