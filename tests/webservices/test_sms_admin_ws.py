"""smsAdmin/info, smsAdmin/backup and the ipsProfileMgmt placeholders on a real Garrison,
called with curl the way scripts call them."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import RunningServer
from tests.webservices.curl_peer import auth_forms, curl, needs_curl
from tests.webservices.ws_support import module_server

pytestmark = needs_curl


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from module_server(tmp_path_factory, "sms-admin")


@functools.cache
def cli_version() -> str:
    """What `garrison version` prints, without its program name."""
    done = subprocess.run(
        [sys.executable, "-m", "garrison", "version"], capture_output=True, text=True, timeout=60
    )
    return done.stdout.split()[-1]


@pytest.mark.parametrize("form", ["api-key", "basic", "smsuser"])
def test_info_version_with_each_auth_form(live: RunningServer, form: str) -> None:
    args, suffix = auth_forms(live)[form]
    reply = curl(live, f"/smsAdmin/info?request=version{suffix}", *args)
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.body.strip() == cli_version() and reply.body.endswith("\n")


def test_info_as_a_post_form_in_any_case(live: RunningServer) -> None:
    args, _ = auth_forms(live)["basic"]
    reply = curl(live, "/smsAdmin/info", *args, "-d", "request=VERSION")
    assert (reply.status, reply.body.strip()) == (200, cli_version())


@pytest.mark.parametrize(
    ("query", "reason"),
    [("", "request is required: request=version"), ("?request=uptime", "request 'uptime'")],
)
def test_info_without_a_known_request_is_a_400(
    live: RunningServer, query: str, reason: str
) -> None:
    reply = curl(live, f"/smsAdmin/info{query}", *auth_forms(live)["api-key"][0])
    assert reply.status == 400 and reply.body.startswith(reason)


@pytest.mark.parametrize(
    "query",
    [
        "type=sms",
        "type=SMS&events=TRUE&tos=2&dv=1",
        "type=SFTP&location=sftp://backup.example/sms.bak&username=u&password=p",
        "type=smb&location=//198.51.100.100/backups/sms.bak&domain=CORP&timestampName=false",
    ],
)
def test_a_well_formed_backup_is_a_412_until_backups_exist(live: RunningServer, query: str) -> None:
    reply = curl(live, f"/smsAdmin/backup?{query}", *auth_forms(live)["api-key"][0])
    assert (reply.status, reply.body) == (
        412,
        "backup is not available in this release (issue: backups)\n",
    )
    with live.services.store.transaction() as tx:
        row = tx.audit.query(action="webservices.smsAdmin.backup", limit=1)[0]
    assert row.outcome == "failure" and json.loads(row.detail)["status"] == 412
    assert "password=p" not in row.detail


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "type is required: one of smb, nfs, scp, sftp, sms"),
        ("type=ftp", "type 'ftp' is not one of smb, nfs, scp, sftp, sms"),
        ("type=scp", "location is required for a scp backup"),
        ("type=sms&tos=many", "tos 'many' is not a count"),
        ("type=sms&notify=maybe", "notify 'maybe' must be true or false"),
    ],
)
def test_a_malformed_backup_is_a_400_first(live: RunningServer, query: str, reason: str) -> None:
    reply = curl(live, f"/smsAdmin/backup?{query}", *auth_forms(live)["api-key"][0])
    assert reply.status == 400 and reply.body.startswith(reason), reply.body


@pytest.mark.parametrize(
    "method",
    ["getFilters", "exportProfile?profileName=Default", "dvInfo?request=active", "anyOther"],
)
def test_profile_management_answers_412_until_filter_packages(
    live: RunningServer, method: str
) -> None:
    for verb in (["-X", "GET"], ["-H", "Expect:", "-F", "file=@/dev/null;filename=x.xml"]):
        reply = curl(live, f"/ipsProfileMgmt/{method}", *auth_forms(live)["basic"][0], *verb)
        assert reply.status == 412, reply.body
        name = method.partition("?")[0]
        assert reply.body.startswith(f"ipsProfileMgmt/{name}: profile and filter management")
        assert reply.body.count("\n") == 1


def test_without_credentials_it_is_still_a_401(live: RunningServer) -> None:
    assert curl(live, "/smsAdmin/info?request=version").status == 401
    assert curl(live, "/ipsProfileMgmt/getFilters").status == 401
