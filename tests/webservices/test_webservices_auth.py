"""Web services authentication: X-SMS-API-KEY, HTTP Basic and smsuser/smspass, alone or
together; what happens when they disagree; lockout; the Web services capability (403).

The servlet path used for the server tests is ``quarantine/nope``: once the caller is let
in it answers 404 "no Web service method", whatever the state of the Responder, so a 404
means authentication and authorization passed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from garrison.auth import AuthService, Principal, Role
from garrison.config.settings import AuthSettings
from garrison.errors import Forbidden, Unauthorized
from garrison.store import AuditRecord, Store, upgrade
from garrison.webservices.auth import Credentials, authenticate, authorize, credentials_of
from garrison.webservices.params import Params
from tests.support import ADMIN_PASSWORD, RunningServer, make_settings, start_server
from tests.webservices.curl_peer import curl, needs_curl

PASSWORD = "a web services passphrase"
LET_IN = "no Web service method quarantine/nope"


def basic(user: str, password: str, encoding: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode(encoding)).decode()


def params(**values: str) -> Params:
    return Params(pairs=tuple(values.items()))


# -- credentials_of: pure --------------------------------------------------------------------


def test_every_kind_of_credential_is_collected() -> None:
    found = credentials_of(
        [basic("ana", "p:w"), "Bearer gar_b"],
        ["gar_a", " "],
        params(smsuser="ana", smspass="p:w"),
    )
    # Basic and smsuser/smspass with the same pair are one credential, checked once.
    assert found == Credentials(api_keys=("gar_a", "gar_b"), passwords=(("ana", "p:w"),))
    assert found.claimed_user == "ana"
    assert not credentials_of([], [], Params())


def test_basic_credentials_in_latin_1_as_older_clients_send_them() -> None:
    found = credentials_of([basic("jürgen", "pässword", "latin-1")], [], Params())
    assert found.passwords == (("jürgen", "pässword"),)


@pytest.mark.parametrize(
    ("authorization", "values", "message"),
    [
        (["Basic !!!"], {}, "malformed HTTP Basic credentials: not base64"),
        (["Basic " + base64.b64encode(b"nocolon").decode()], {}, "no ':' between"),
        ([], {"smsuser": "ana"}, "smsuser without smspass"),
        ([], {"smspass": "x"}, "smspass without smsuser"),
    ],
)
def test_malformed_or_incomplete_credentials(
    authorization: list[str], values: dict[str, str], message: str
) -> None:
    with pytest.raises(Unauthorized, match=message):
        credentials_of(authorization, [], params(**values))


def test_repeated_parameters_with_different_values_are_refused() -> None:
    two_users = Params(pairs=(("smsuser", "a"), ("smsuser", "b"), ("smspass", "x")))
    with pytest.raises(Unauthorized, match="smsuser is given 2 times"):
        credentials_of([], [], two_users)
    two_passwords = Params(pairs=(("smsuser", "a"), ("smspass", "x"), ("smspass", "y")))
    with pytest.raises(Unauthorized, match="smspass is given 2 times"):
        credentials_of([], [], two_passwords)


# -- authenticate: against AuthService and a real store --------------------------------------


@dataclass
class Site:
    auth: AuthService
    ana_key: str
    bob_key: str


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    store = Store(f"sqlite:///{tmp_path / 'garrison.db'}")
    upgrade(store.engine)
    service = AuthService(store, AuthSettings(max_failed_logins=3, lockout_minutes=5))
    cli = Principal.local_cli()
    ana = service.create_user(cli, username="ana", password=PASSWORD, role=Role.OPERATOR)
    bob = service.create_user(cli, username="bob", password=PASSWORD, role=Role.AUDITOR)
    yield Site(
        auth=service,
        ana_key=service.create_api_key(cli, user_id=ana.id, name="k").secret,
        bob_key=service.create_api_key(cli, user_id=bob.id, name="k").secret,
    )
    store.close()


def failed_logins(site: Site, username: str) -> int:
    with site.auth.store.transaction() as tx:
        user = tx.users.by_name(username)
    assert user is not None
    return user.failed_logins


def test_a_key_and_a_password_of_the_same_user_let_in(site: Site) -> None:
    creds = Credentials(api_keys=(site.ana_key,), passwords=(("ana", PASSWORD),))
    principal = authenticate(site.auth, creds, "192.0.2.1")
    assert (principal.username, principal.via) == ("ana", "api-key")
    authorize(principal)


def test_nothing_sent_is_refused(site: Site) -> None:
    with pytest.raises(Unauthorized, match="authentication required"):
        authenticate(site.auth, Credentials(), "192.0.2.1")


def test_disagreeing_credentials_are_refused_before_any_password_is_checked(site: Site) -> None:
    mixed = Credentials(api_keys=(site.ana_key,), passwords=(("bob", "a wrong guess"),))
    with pytest.raises(Unauthorized, match="the API key and the user name name different users"):
        authenticate(site.auth, mixed, "192.0.2.1")
    two_users = Credentials(passwords=(("ana", "guess one"), ("bob", "guess two")))
    with pytest.raises(Unauthorized, match="the credentials name different users"):
        authenticate(site.auth, two_users, "192.0.2.1")
    two_keys = Credentials(api_keys=(site.ana_key, site.bob_key))
    with pytest.raises(Unauthorized, match="the API keys belong to different users"):
        authenticate(site.auth, two_keys, "192.0.2.1")
    # Nobody's password was tried, so nobody moved towards a lockout.
    assert failed_logins(site, "ana") == failed_logins(site, "bob") == 0


def test_a_wrong_password_beside_a_good_key_fails_and_counts(site: Site) -> None:
    creds = Credentials(api_keys=(site.ana_key,), passwords=(("ana", "not it at all"),))
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        authenticate(site.auth, creds, "192.0.2.1")
    assert failed_logins(site, "ana") == 1


def test_without_the_capability_forbidden(site: Site) -> None:
    principal = authenticate(site.auth, Credentials(api_keys=(site.bob_key,)), "192.0.2.1")
    with pytest.raises(Forbidden, match="role auditor may not use the Web services"):
        authorize(principal)


# -- over HTTPS with curl --------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("wsauth") / "data",
        poller={"enabled": False},
        auth={"max_failed_logins": 3},
    )
    running = start_server(settings)
    server = next(running)
    cli = Principal.local_cli()
    for name, role in (
        ("webop", Role.OPERATOR),
        ("reader", Role.AUDITOR),
        ("locky", Role.OPERATOR),
    ):
        server.services.auth.create_user(cli, username=name, password=PASSWORD, role=role)
    yield server
    running.close()


def newest_audit(server: RunningServer, action: str = "webservices.quarantine.nope") -> AuditRecord:
    with server.services.store.transaction() as tx:
        rows = tx.audit.query(action=action, limit=1)
    assert rows
    return rows[0]


def q(**values: str) -> str:
    return "/quarantine/nope?" + urlencode(values)


@needs_curl
def test_each_credential_form_lets_in(live: RunningServer) -> None:
    forms = [
        (q(smsuser="webop", smspass=PASSWORD),),
        (q(), "-u", f"webop:{PASSWORD}"),
        (q(), "-H", f"X-SMS-API-KEY: {live.api_key}"),
        (q(), "-d", urlencode({"smsuser": "webop", "smspass": PASSWORD})),
        (q(), "-F", "smsuser=webop", "-F", f"smspass={PASSWORD}"),
        # All three at once, naming one user.
        (q(smsuser="admin", smspass=ADMIN_PASSWORD), "-u", f"admin:{ADMIN_PASSWORD}",
         "-H", f"X-SMS-API-KEY: {live.api_key}"),
    ]  # fmt: skip
    for target, *args in forms:
        reply = curl(live, target, *args)
        assert (reply.status, reply.body.startswith(LET_IN)) == (404, True), (args, reply.body)


@needs_curl
@pytest.mark.parametrize(
    ("target", "args", "actor", "reason"),
    [
        (q(), [], "anonymous", "authentication required"),
        (q(smsuser="webop", smspass="wrong wrong wrong"), [], "webop", "wrong user name"),
        (q(), ["-H", "X-SMS-API-KEY: gar_not-a-key"], "anonymous", "unknown API key"),
        (q(smsuser="webop"), [], "webop", "smsuser without smspass"),
        (q(smsuser="webop", smspass=PASSWORD), ["-u", f"admin:{ADMIN_PASSWORD}"], "admin",
         "the credentials name different users"),  # Basic's user is the first claimed
    ],
)  # fmt: skip
def test_refused_credentials_answer_401_in_text(
    live: RunningServer, target: str, args: list[str], actor: str, reason: str
) -> None:
    reply = curl(live, target, *args)
    assert reply.status == 401
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["www-authenticate"].startswith('Basic realm="garrison"')
    assert reason in reply.body and reply.body.count("\n") == 1
    row = newest_audit(live)
    assert (row.actor, row.outcome) == (actor, "failure")
    assert json.loads(row.detail)["status"] == 401
    assert PASSWORD not in row.detail and "wrong wrong" not in row.detail


@needs_curl
def test_without_the_web_services_capability_403(live: RunningServer) -> None:
    reply = curl(live, q(smsuser="reader", smspass=PASSWORD))
    assert reply.status == 403
    assert reply.body == "role auditor may not use the Web services (needs web-services)\n"
    row = newest_audit(live)
    assert (row.actor, row.outcome, json.loads(row.detail)["status"]) == ("reader", "failure", 403)


@needs_curl
def test_repeated_wrong_smspass_locks_the_account(live: RunningServer) -> None:
    for _ in range(3):
        assert curl(live, q(smsuser="locky", smspass="guess guess guess")).status == 401
    reply = curl(live, q(smsuser="locky", smspass=PASSWORD))
    assert reply.status == 401 and "account locked until" in reply.body
    # AuthService's own login rows record each failure as well.
    login = newest_audit(live, "login")
    assert (login.actor, login.outcome) == ("locky", "failure")
