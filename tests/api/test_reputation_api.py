"""The reputation store over /api/v1 on a running server: tag categories, entries added,
read, paged, queried, deleted and imported, the JSON error model, roles, and the same
store answering the SMS Web services."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from garrison.auth import Principal, Role
from garrison.reputation.model import DV_SCORE_CATEGORY, TTL_CATEGORY
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server

CLI = Principal.local_cli()
V1 = "/api/v1/reputation"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(tmp_path_factory.mktemp("repapi") / "data", poller={"enabled": False})
    yield from start_server(settings)


@pytest.fixture
def api(live: RunningServer) -> Iterator[httpx.Client]:
    """An admin client over an empty store with two categories besides the built-in."""
    live.services.reputation.delete_all(CLI)
    with live.admin() as client:
        for name in ("MalwareIpType", "Note"):
            client.delete(f"{V1}/tag-categories/{name}", params={"force": True})
        made = client.post(f"{V1}/tag-categories", json={
            "name": "MalwareIpType", "kind": "list", "values": ["cncHost", "infectedHost"],
            "multiple": True,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        assert client.post(f"{V1}/tag-categories", json={"name": "Note", "kind": "text"}).is_success
        yield client


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["message"]


def test_tag_categories(api: httpx.Client) -> None:
    listed = {c["name"]: c for c in api.get(f"{V1}/tag-categories").json()}
    assert {DV_SCORE_CATEGORY, TTL_CATEGORY, "MalwareIpType", "Note"} <= set(listed)
    assert listed[DV_SCORE_CATEGORY] | {"created_at": None} == {
        "name": DV_SCORE_CATEGORY, "kind": "range", "description": "a manual reputation score",
        "minimum": 0, "maximum": 100, "values": [], "multiple": False, "read_only": False,
        "created_at": None,
    }  # fmt: skip
    assert listed["MalwareIpType"]["values"] == ["cncHost", "infectedHost"]
    one = api.get(f"{V1}/tag-categories/{quote(DV_SCORE_CATEGORY)}")
    assert one.status_code == 200 and one.json()["kind"] == "range"
    assert api.get(f"{V1}/tag-categories/Nope").status_code == 404
    assert error(api.post(f"{V1}/tag-categories", json={"name": "Note", "kind": "text"})) == (
        409,
        "a tag category named 'Note' already exists",
    )
    bad = api.post(f"{V1}/tag-categories", json={"name": "Score", "kind": "range"})
    assert error(bad) == (422, "tag category 'Score': a numeric range needs minimum and maximum")
    assert api.post(f"{V1}/tag-categories", json={"name": "X", "kind": "colour"}).status_code == 422

    assert api.post(f"{V1}/entries", json={"value": "1.2.3.4", "tags": {"Note": "x"}}).is_success
    in_use = api.delete(f"{V1}/tag-categories/Note")
    assert error(in_use) == (409, "tag category 'Note' is used by entries")
    assert api.delete(f"{V1}/tag-categories/Note", params={"force": True}).status_code == 204
    assert api.get(f"{V1}/entries/1.2.3.4").json()["tags"] == {}
    builtin = api.delete(f"{V1}/tag-categories/{quote(TTL_CATEGORY)}")
    assert builtin.status_code == 422 and "built in" in error(builtin)[1]


def test_add_read_page_and_delete_entries(api: httpx.Client, live: RunningServer) -> None:
    added = api.post(f"{V1}/entries", json={
        "value": "10.1.2.3/8", "tags": {"MalwareIpType": ["cncHost", "infectedHost"]},
    })  # fmt: skip
    assert added.status_code == 201
    body = added.json()
    assert (body["value"], body["kind"], body["source"], body["added_by"]) == (
        "10.0.0.0/8", "ipv4", "user", "admin",
    )  # fmt: skip
    assert body["tags"] == {"MalwareIpType": "cncHost~~~infectedHost"}
    again = api.post(f"{V1}/entries", json={"value": "10.0.0.0/8", "tags": {"Note": "seen"}})
    assert again.status_code == 200 and set(again.json()["tags"]) == {"MalwareIpType", "Note"}

    url = "http://evil.example/a?b=1"
    assert api.post(f"{V1}/entries", json={"value": url, "kind": "url"}).status_code == 201
    got = api.get(f"{V1}/entries/{quote(url, safe='')}", params={"kind": "url"})
    assert got.status_code == 200 and got.json()["value"] == url
    assert api.get(f"{V1}/entries/10.0.0.0/8").json()["value"] == "10.0.0.0/8"
    assert api.get(f"{V1}/entries/10.0.0.1").status_code == 404

    unknown = api.post(f"{V1}/entries", json={"value": "1.1.1.1", "tags": {"Colour": "red"}})
    assert error(unknown) == (422, "tag category 'Colour' does not exist")
    ttl = api.post(f"{V1}/entries", json={"value": "1.1.1.1", "expires_at": "2099-01-01T00:00:00Z"})
    assert ttl.json()["tags"] == {TTL_CATEGORY: "2099-01-01 00:00:00+0000"}

    first = api.get(f"{V1}/entries", params={"limit": 2}).json()
    rest = api.get(f"{V1}/entries", params={"after": first[-1]["id"]}).json()
    assert [e["value"] for e in first + rest] == ["10.0.0.0/8", url, "1.1.1.1"]
    assert [e["value"] for e in api.get(f"{V1}/entries", params={"kind": "url"}).json()] == [url]

    assert api.delete(f"{V1}/entries/10.9.9.9/8").status_code == 204  # names 10.0.0.0/8
    assert api.delete(f"{V1}/entries/10.0.0.0/8").status_code == 404


def test_batch_query_and_the_web_services_see_the_same_store(
    api: httpx.Client, live: RunningServer
) -> None:
    entries = [{"value": "192.0.2.0/24"}, {"value": "foo.example", "kind": "dns"},
               {"value": "2001:db8::7", "tags": {"Note": "v6"}}]  # fmt: skip
    bad = api.post(f"{V1}/batch", json={"entries": [*entries, {"value": "1.2.3.x", "kind": "ip"}]})
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith(
        "entry 4 ('1.2.3.x')"
    )
    assert api.post(f"{V1}/query", json={"kind": "ip", "values": ["192.0.2.9"]}).json() == []
    assert api.post(f"{V1}/batch", json={"entries": entries}).json() == {"added": 3, "updated": 0}
    found = api.post(f"{V1}/query", json={"kind": "ip", "values": ["2001:db8::7", "192.0.2.9"]})
    assert [e["value"] for e in found.json()] == ["192.0.2.0/24", "2001:db8::7"]
    names = api.post(f"{V1}/query", json={"kind": "dns", "values": ["www.foo.example"]})
    assert [e["value"] for e in names.json()] == ["foo.example"]
    syntax = api.post(f"{V1}/query", json={"kind": "ip", "values": ["nope"]})
    assert syntax.status_code == 422
    sms = httpx.get(
        f"{live.url()}/repEntries/query", params={"ip": "2001:db8::7"},
        headers={"X-SMS-API-KEY": live.api_key}, verify=False,
    )  # fmt: skip
    assert (sms.status_code, sms.text) == (200, "2001:db8::7,Note,v6\n")


def test_import_a_file_as_body_or_multipart(api: httpx.Client) -> None:
    lines = [f"10.0.0.{i},Note,n{i}" for i in range(1, 10)]
    raw = api.post(f"{V1}/import", content="\n".join(lines).encode(),
                   headers={"Content-Type": "text/csv"})  # fmt: skip
    assert raw.json() == {"entries": 9, "added": 9, "updated": 0}
    form = api.post(f"{V1}/import", params={"type": "URL"},
                    files={"anything": ("u.csv", b"http://a.example/x,y|Note|z\n")})  # fmt: skip
    assert form.json() == {"entries": 1, "added": 1, "updated": 0}
    bad = [*lines[:6], "10.0.0.77,Colour,red", "10.0.0.99"]
    refused = api.post(f"{V1}/import", content="\n".join(bad).encode())
    assert error(refused) == (422, "line 7: tag category 'Colour' does not exist")
    assert api.get(f"{V1}/entries/10.0.0.99").status_code == 404
    assert error(api.post(f"{V1}/import", params={"type": "mac"}, content=b"x")) == (
        422,
        "type 'mac' is not one of ipv4, ipv6, dns, url",
    )


def test_delete_by_criteria(api: httpx.Client, live: RunningServer) -> None:
    api.post(f"{V1}/batch", json={"entries": [{"value": f"10.0.0.{i}"} for i in range(5)]})
    named = api.post(f"{V1}/delete", json={"criteria": "entry", "values": ["10.0.0.1", "10.0.0.9"]})
    assert named.json() == {"deleted": 1}
    assert api.post(f"{V1}/delete", json={"criteria": "entry"}).status_code == 422
    assert api.post(f"{V1}/delete", json={"criteria": "user"}).json() == {"deleted": 4}
    assert api.post(f"{V1}/delete", json={"criteria": "all"}).json() == {"deleted": 0}


def test_auditors_read_but_do_not_write(api: httpx.Client, live: RunningServer) -> None:
    user = live.services.auth.create_user(
        CLI, username=f"aud{id(api)}", password=ADMIN_PASSWORD, role=Role.AUDITOR
    )
    key = live.services.auth.create_api_key(CLI, user_id=user.id, name="aud")
    with live.client(key=key.secret) as auditor:
        assert auditor.get(f"{V1}/tag-categories").status_code == 200
        assert auditor.post(f"{V1}/query", json={"kind": "ip", "values": ["1.1.1.1"]}).json() == []
        refused = auditor.post(f"{V1}/entries", json={"value": "1.1.1.1"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert auditor.post(f"{V1}/import", content=b"1.1.1.1").status_code == 403
