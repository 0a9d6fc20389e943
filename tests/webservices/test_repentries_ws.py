"""repEntries/add, query and delete on a real Garrison HTTPS server, called the way SMS
scripts call them: curl with each authentication form, requests with forms, sloppy paths,
parameters in any case; answers parsed with csv and checked field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from garrison.auth import Role
from garrison.reputation.model import TTL_CATEGORY
from garrison.reputation.service import EntryInput
from tests.support import ADMIN_PASSWORD, RunningServer
from tests.webservices.curl_peer import curl, needs_curl
from tests.webservices.repentries_support import (
    CLI,
    call,
    empty_store,  # noqa: F401  (the fixture rep: an empty store on the live server)
    live_server,  # noqa: F401  (the fixture live)
    newest_audit,
    rows,
    tags_of,
)
from tests.webservices.ws_support import ADMIN

GUIDE_TAGS = "AtaHost,myata.device.com,ThreatScore,28,MalwareIpType,cncHost~~~infectedHost"


def query(server: RunningServer, **values: list[str]) -> tuple[int, list[list[str]]]:
    answer = call(server, "/repEntries/query", method="POST", data={**ADMIN, **values})
    return answer.status_code, rows(answer.text)


@needs_curl
def test_add_with_each_authentication_form_and_query_the_guides_line(rep: RunningServer) -> None:
    added = curl(rep, "/repEntries/add?" + "&".join([
        "ip=1.1.1.2", f"TagData={GUIDE_TAGS}", "smsuser=admin",
        "smspass=" + ADMIN_PASSWORD.replace(" ", "%20"),
    ]))  # fmt: skip
    assert (added.status, added.body) == (200, "added 1.1.1.2\n")
    assert added.headers["content-type"] == "text/plain; charset=utf-8"
    key = curl(rep, "/repEntries/add?dns=evil.example", "-H", f"X-SMS-API-KEY: {rep.api_key}")
    assert (key.status, key.body) == (200, "added evil.example\n")
    basic = curl(
        rep, "/repEntries/add", "-u", f"admin:{ADMIN_PASSWORD}",
        "--data-urlencode", "url=http://Evil.example/Path?a=1",
        "--data-urlencode", 'TagData=AtaHost,"Jan 22, 2014"',
    )  # fmt: skip
    assert (basic.status, basic.body) == (200, "added http://evil.example/Path?a=1\n")

    answer = curl(rep, "/repEntries/query?ip=1.1.1.2", "-H", f"X-SMS-API-KEY: {rep.api_key}")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    # The facts sheet's own example line, categories in name order.
    assert answer.body == (
        "1.1.1.2,AtaHost,myata.device.com,MalwareIpType,cncHost~~~infectedHost,ThreatScore,28\n"
    )
    (row,) = rows(answer.body)
    assert row[0] == "1.1.1.2"
    assert tags_of(row) == {
        "AtaHost": "myata.device.com",
        "MalwareIpType": "cncHost~~~infectedHost",
        "ThreatScore": "28",
    }
    url = curl(rep, "/repEntries/query?url=http://evil.example/Path%3Fa%3D1", "-u",
               f"admin:{ADMIN_PASSWORD}")  # fmt: skip
    assert rows(url.body) == [["http://evil.example/Path?a=1", "AtaHost", "Jan 22, 2014"]]
    assert url.body.startswith('http://evil.example/Path?a=1,AtaHost,"Jan 22, 2014"')
    row_, detail = newest_audit(rep, "webservices.repEntries.query")
    assert (row_.target, detail["values"], detail["matched"]) == ("query:url", 1, 1)


def test_query_sorts_by_address_and_answers_200_204_412(rep: RunningServer) -> None:
    for value in ["10.0.0.1", "9.0.0.0/8", "2.0.0.1", "2001:db8::/32", "192.168.66.127/24"]:
        assert call(rep, "/repEntries/add", params={**ADMIN, "ip": value}).status_code == 200
    status, found = query(rep, ip=["10.0.0.1", "2001:db8::5", "9.1.2.3", "2.0.0.1", "192.168.66.1"])
    assert status == 200
    # Ascending by address (numerically, IPv4 before IPv6), the CIDR normalised.
    assert [r[0] for r in found] == [
        "2.0.0.1", "9.0.0.0/8", "10.0.0.1", "192.168.66.0/24", "2001:db8::/32",
    ]  # fmt: skip
    nothing = call(rep, "/repEntries/query", params={**ADMIN, "ip": "203.0.113.1"})
    assert (nothing.status_code, nothing.content) == (204, b"")
    bad = call(rep, "/repEntries/query", params={**ADMIN, "ip": ["2.0.0.1", "2.0.0.x"]})
    assert bad.status_code == 412
    assert bad.text == "'2.0.0.x' is not an IPv4 or IPv6 address or CIDR block\n"
    mixed = call(rep, "/repEntries/query", params={**ADMIN, "ip": "2.0.0.1", "dns": "x.example"})
    assert (mixed.status_code, mixed.text) == (400, "one kind per query: ip and dns given\n")
    none = call(rep, "/repEntries/query", params=ADMIN)
    assert none.status_code == 400 and "ip=, dns= or url=" in none.text


def test_ten_thousand_values_in_one_query_and_not_one_more(rep: RunningServer) -> None:
    hosts = [f"10.{i >> 8}.{i & 255}.7" for i in range(10_000)]
    rep.services.reputation.add_many(CLI, [EntryInput(h) for h in hosts[::100]])
    status, found = query(rep, ip=hosts)
    assert status == 200
    assert [r[0] for r in found] == hosts[::100]  # already in address order
    over = call(rep, "/repEntries/query", method="POST", data={**ADMIN, "ip": [*hosts, "1.1.1.1"]})
    assert (over.status_code, over.text) == (
        400,
        "at most 10000 values in one query; 10001 given\n",
    )


def test_dns_substring_and_exact_entries(rep: RunningServer) -> None:
    for name in ["foo.com", "[bar.com]", "WWW.Baz.COM."]:
        assert call(rep, "/repEntries/add", params={**ADMIN, "DNS": name}).status_code == 200
    status, found = query(rep, dns=["www.foo.com", "bar.com", "x.bar.com", "www.baz.com"])
    assert status == 200
    assert [r[0] for r in found] == ["[bar.com]", "foo.com", "www.baz.com"]
    assert call(rep, "/repEntries/query", params={**ADMIN, "dns": "x.bar.com"}).status_code == 204


@needs_curl
def test_sloppy_paths_and_parameters_in_any_case(rep: RunningServer) -> None:
    auth = f"smsuser=admin&smspass={ADMIN_PASSWORD.replace(' ', '%20')}"
    added = curl(rep, f"//repEntries/add&IP=192.0.2.9&tagdata=Blocked,YES&{auth}")
    assert (added.status, added.body) == (200, "added 192.0.2.9\n")
    # A JSON content type on a GET changes nothing.
    found = curl(rep, f"/repEntries/query&ip=192.0.2.9&{auth}", "-H",
                 "Content-Type: application/json")  # fmt: skip
    assert (found.status, found.body) == (200, "192.0.2.9,Blocked,yes\n")
    # The same parameter in the URL and the body is one parameter.
    again = curl(rep, f"/repEntries/add?ip=192.0.2.9&{auth}", "-d", "ip=192.0.2.9")
    assert (again.status, again.body) == (200, "updated 192.0.2.9\n")


def test_add_errors_are_one_line_with_the_smss_codes(rep: RunningServer) -> None:
    def add(**params: str) -> tuple[int, str]:
        answer = call(rep, "/repEntries/add", params={**ADMIN, **params})
        assert answer.text.count("\n") == 1 and answer.headers["content-type"].startswith("text/")
        return answer.status_code, answer.text.strip()

    assert add(ip="1.2.3.4", dns="x.example") == (
        400,
        "give exactly one of ip, dns and url (ip and dns given)",
    )
    assert add() == (400, "give exactly one of ip, dns and url (none given)")
    assert add(ip="1.2.3.999")[0] == 400
    # The SMS needs categories to exist first: a failed precondition.
    assert add(ip="1.2.3.4", TagData="Colour,red") == (
        412,
        "tag category 'Colour' does not exist",
    )
    assert add(ip="1.2.3.4", TagData=",red")[0] == 400
    assert add(ip="1.2.3.4", TagData="Trend Micro Severity,High~~~Medium") == (
        400,
        "tag 'Trend Micro Severity': takes a single value; 2 given",
    )
    assert add(ip="1.2.3.4", TagData="ThreatScore,101")[0] == 400
    assert add(ip="1.2.3.4", TagData=f"{TTL_CATEGORY},2018-10-25 07:15:00-0400")[0] == 400
    assert call(rep, "/repEntries/query", params={**ADMIN, "ip": "1.2.3.4"}).status_code == 204


def test_reputation_entries_ttl_sets_the_expiry(rep: RunningServer) -> None:
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    local = until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S-0000")
    tag_data = f"{TTL_CATEGORY},{local}"
    answer = call(
        rep, "/repEntries/add", params={**ADMIN, "ip": "198.51.100.1", "TagData": tag_data}
    )
    assert answer.status_code == 200
    record = rep.services.reputation.get(CLI, "198.51.100.1")
    assert record is not None and record.expires_at == until
    _, found = query(rep, ip=["198.51.100.1"])
    assert tags_of(found[0]) == {TTL_CATEGORY: until.strftime("%Y-%m-%d %H:%M:%S+0000")}


def test_delete_by_entry_and_by_source(rep: RunningServer) -> None:
    service = rep.services.reputation
    service.add_many(CLI, [EntryInput(v) for v in ["10.0.0.1", "10.0.0.2", "evil.example"]])
    service.add_many(CLI, [EntryInput("10.9.9.9")], source="repdv")
    service.add(CLI, "http://x.example/a", kind="url")

    missing = call(rep, "/repEntries/delete", params={**ADMIN, "criteria": "sometimes"})
    assert missing.status_code == 400 and "all, user, repdv, entry" in missing.text
    assert call(rep, "/repEntries/delete", params=ADMIN).status_code == 400
    entry_without = call(rep, "/repEntries/delete", params={**ADMIN, "criteria": "entry"})
    assert entry_without.status_code == 400
    both = call(rep, "/repEntries/delete", params={**ADMIN, "criteria": "user", "ip": "10.0.0.1"})
    assert both.status_code == 400

    one = call(rep, "/repEntries/delete", method="POST", data={
        **ADMIN, "criteria": "Entry", "ip": ["10.0.0.1", "10.0.0.3"], "dns": "evil.example",
        "url": "http://x.example/a",
    })  # fmt: skip
    assert (one.status_code, one.text) == (200, "deleted 3 entries\n")
    row, detail = newest_audit(rep, "webservices.repEntries.delete")
    assert (row.target, detail["deleted"], detail["criteria"]) == (
        "reputation:4 entries",
        3,
        "entry",
    )
    # The file form: the import format, only the first field counts.
    upload = call(rep, "/repEntries/delete", method="POST", params={**ADMIN, "type": "ipv4"},
                  files={"requestFile": ("gone.csv", b"10.0.0.2,AtaHost,whatever\n")})  # fmt: skip
    assert (upload.status_code, upload.text) == (200, "deleted 1 entry\n")

    service.add(CLI, "10.0.0.5")
    user = call(rep, "/repEntries/delete", params={**ADMIN, "criteria": "USER"})
    assert (user.status_code, user.text) == (200, "deleted 1 entry\n")
    assert [r[0] for r in query(rep, ip=["10.9.9.9", "10.0.0.5"])[1]] == ["10.9.9.9"]
    everything = call(rep, "/repEntries/delete", params={**ADMIN, "criteria": "all"})
    assert (everything.status_code, everything.text) == (200, "deleted 1 entry\n")
    assert query(rep, ip=["10.9.9.9"])[0] == 204


def test_an_auditor_is_refused(rep: RunningServer) -> None:
    rep.services.auth.create_user(
        CLI, username="watcher", password=ADMIN_PASSWORD, role=Role.AUDITOR
    )
    answer = call(rep, "/repEntries/query", params={"ip": "1.1.1.1", "smsuser": "watcher",
                                                    "smspass": ADMIN_PASSWORD})  # fmt: skip
    assert answer.status_code == 403 and answer.text.count("\n") == 1
