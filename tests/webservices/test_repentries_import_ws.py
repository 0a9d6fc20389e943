"""repEntries/import on a real Garrison HTTPS server: multipart uploads under any field
name (requests and curl), each entry type in any case, pipe-delimited URL files, a
10,000-line file in one call, and bad files: a bad line 7 imports nothing and says line 7,
and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.reputation.wire import format_import
from tests.support import RunningServer
from tests.webservices.curl_peer import curl, needs_curl
from tests.webservices.repentries_support import (
    call,
    empty_store,  # noqa: F401  (the fixture rep: an empty store on the live server)
    live_server,  # noqa: F401  (the fixture live)
    newest_audit,
    rows,
    tags_of,
)
from tests.webservices.ws_support import ADMIN

GOOD = (
    "1.1.1.2,AtaHost,myata.device.com,ThreatScore,28,MalwareIpType,cncHost~~~infectedHost\n"
    '10.1.2.3/8,AtaHost,"Jan 22, 2014",Blocked,Yes\n'
    "192.0.2.1,ThreatScore,\n"  # an empty value drops the pair
)


def import_file(
    server: RunningServer, data: bytes | str, *, field: str = "file", **params: str
) -> tuple[int, str]:
    answer = call(server, "/repEntries/import", method="POST", params={**ADMIN, **params},
                  files={field: ("entries.csv", data, "text/csv")})  # fmt: skip
    return answer.status_code, answer.text


def query_all(server: RunningServer, kind: str, values: list[str]) -> list[list[str]]:
    answer = call(server, "/repEntries/query", method="POST", data={**ADMIN, kind: values})
    assert answer.status_code in (200, 204), answer.text
    return rows(answer.text)


@pytest.mark.parametrize("field", ["file", "name", "requestFile", "uploadfile", "x"])
def test_multipart_under_any_field_name(rep: RunningServer, field: str) -> None:
    assert import_file(rep, GOOD, field=field, type="IPv4") == (
        200,
        "imported 3 entries (3 added, 0 updated)\n",
    )
    found = query_all(rep, "ip", ["1.1.1.2", "10.200.0.1", "192.0.2.1"])
    assert [r[0] for r in found] == ["1.1.1.2", "10.0.0.0/8", "192.0.2.1"]
    assert tags_of(found[1]) == {"AtaHost": "Jan 22, 2014", "Blocked": "yes"}
    assert tags_of(found[2]) == {}
    # Importing again updates: the same entries, no duplicates.
    assert import_file(rep, GOOD, field=field)[1] == "imported 3 entries (0 added, 3 updated)\n"


@needs_curl
def test_curl_uploads_and_sloppy_import_path(rep: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(GOOD)
    auth = "smsuser=admin&smspass=" + ADMIN["smspass"].replace(" ", "%20")
    at = curl(rep, f"/repEntries/import&type=ipv4&{auth}", "-F", f"file=@{path}")
    assert (at.status, at.body) == (200, "imported 3 entries (3 added, 0 updated)\n")
    # -F "name=<file" sends the content as a plain field, not a file part.
    field = curl(rep, "/repEntries/import", "-H", f"X-SMS-API-KEY: {rep.api_key}",
                 "-F", f"name=<{path}", "-F", "type=IPV4")  # fmt: skip
    assert (field.status, field.body) == (200, "imported 3 entries (0 added, 3 updated)\n")
    row, detail = newest_audit(rep, "webservices.repEntries.import")
    assert (row.outcome, row.target) == ("success", "file:name")
    assert (detail["entries"], detail["added"], detail["updated"]) == (3, 0, 3)
    assert "myata" not in row.detail  # counts, not the file


def test_every_entry_type_in_any_case(rep: RunningServer) -> None:
    v6 = "2001:db8::1,ThreatScore,5\n2001:DB8:1::/48\n"
    assert import_file(rep, v6, type="IPv6")[0] == 200
    dns = "foo.example,AtaHost,x\n[exact.example]\n"
    assert import_file(rep, dns, type="DNS")[0] == 200
    # URL files are pipe-delimited: commas belong to the URL.
    urls = 'http://a.example/x,y?q=1|AtaHost|"p|q"\nHTTP://B.example/Z|ThreatScore|9\n'
    assert import_file(rep, urls, type="Url")[0] == 200
    assert [r[0] for r in query_all(rep, "ip", ["2001:db8::1", "2001:db8:1::9"])] == [
        "2001:db8::1",
        "2001:db8:1::/48",
    ]
    names = query_all(rep, "dns", ["www.foo.example", "exact.example", "a.exact.example"])
    assert [r[0] for r in names] == ["[exact.example]", "foo.example"]
    found = query_all(rep, "url", ["http://a.example/x,y?q=1", "http://b.example/Z"])
    assert found == [
        ["http://a.example/x,y?q=1", "AtaHost", "p|q"],
        ["http://b.example/Z", "ThreatScore", "9"],
    ]
    wrong = import_file(rep, "10.0.0.1\n", type="ipv6")
    assert wrong == (400, "line 1: '10.0.0.1' is an ipv4 address, not ipv6\n")
    unknown = import_file(rep, "10.0.0.1\n", type="mac")
    assert unknown == (400, "type 'mac' is not one of ipv4, ipv6, dns, url\n")


@pytest.mark.parametrize(
    ("line_7", "status", "says"),
    [
        ("10.0.0.x,AtaHost,a", 400, "'10.0.0.x' is not an IPv4 or IPv6 address or CIDR block"),
        ('10.0.0.7,AtaHost,"open', 400, "a quoted field is not closed"),
        ("10.0.0.7,,a", 400, "the value 'a' has an empty category"),
        ("10.0.0.7,ThreatScore,1000", 400, "tag 'ThreatScore': 1000 is outside 0..100"),
        ("10.0.0.7,Colour,red", 412, "tag category 'Colour' does not exist"),
    ],
)
def test_a_bad_line_7_imports_nothing_and_says_line_7(
    rep: RunningServer, line_7: str, status: int, says: str
) -> None:
    lines = [f"10.0.0.{i},AtaHost,fine" for i in range(1, 7)] + [line_7, "10.0.0.8"]
    assert import_file(rep, "\n".join(lines) + "\n") == (status, f"line 7: {says}\n")
    assert call(rep, "/repEntries/query", params={**ADMIN, "ip": "10.0.0.1"}).status_code == 204
    row, detail = newest_audit(rep, "webservices.repEntries.import")
    assert row.outcome == "failure" and detail["reason"] == f"line 7: {says}"
    # The server keeps serving: the same file without line 7 imports.
    fixed = "\n".join(lines[:6] + lines[7:])
    assert import_file(rep, fixed) == (200, "imported 7 entries (7 added, 0 updated)\n")


def test_no_file_and_non_utf8_files(rep: RunningServer) -> None:
    bare = call(rep, "/repEntries/import", params={**ADMIN, "type": "ipv4"})
    assert bare.status_code == 400 and "needs the file" in bare.text
    assert import_file(rep, b"10.0.0.1,AtaHost,ok\n10.0.0.2,AtaHost,caf\xe9\n") == (
        400,
        "line 2: not UTF-8 text (byte 41)\n",
    )
    assert import_file(rep, b"") == (200, "imported 0 entries (0 added, 0 updated)\n")
    # A raw body (not a form) is the file too.
    raw = call(rep, "/repEntries/import", method="POST", params={**ADMIN, "type": "dns"},
               data=b"raw.example,AtaHost,r\n", headers={"Content-Type": "text/csv"})  # fmt: skip
    assert (raw.status_code, raw.text) == (200, "imported 1 entry (1 added, 0 updated)\n")


def test_ten_thousand_lines_in_one_call(rep: RunningServer) -> None:
    entries = [(f"172.{16 + i // 65536}.{i // 256 % 256}.{i % 256}", {"ThreatScore": str(i % 101)})
               for i in range(10_000)]  # fmt: skip
    status, body = import_file(rep, format_import(entries, "ipv4"), field="uploadfile")
    assert (status, body) == (200, "imported 10000 entries (10000 added, 0 updated)\n")
    found = query_all(rep, "ip", [value for value, _ in entries])
    assert len(found) == 10_000
    assert [(r[0], tags_of(r)) for r in found] == entries
