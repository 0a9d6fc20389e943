"""Users, lockout, roles, API keys and sessions, on every database backend."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from garrison.auth import AuthService, Principal, Role
from garrison.config.settings import AuthSettings
from garrison.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from garrison.store import Store

PASSWORD = "a perfectly fine passphrase"


@pytest.fixture
def auth(store: Store) -> AuthService:
    return AuthService(store, AuthSettings(max_failed_logins=3, lockout_minutes=5))


def acting(user_id: int, username: str, role: Role) -> Principal:
    return Principal(
        username=username, role=role, via="session", client_address="10.0.0.9", user_id=user_id
    )


@pytest.fixture
def root(auth: AuthService) -> Principal:
    user = auth.create_user(
        Principal.local_cli(), username="root", password=PASSWORD, role=Role.SUPERUSER
    )
    return acting(user.id, "root", Role.SUPERUSER)


def test_login_checks_the_password_and_audits_both_outcomes(
    auth: AuthService, root: Principal
) -> None:
    user = auth.login("root", PASSWORD, "192.0.2.1")
    assert user.last_login_at is not None
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        auth.login("root", "not the password", "192.0.2.2")
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        auth.login("nobody", PASSWORD, "192.0.2.3")
    logins = auth.query_audit(root, action="login")
    assert [(e.outcome, e.client_address) for e in logins] == [
        ("failure", "192.0.2.3"),
        ("failure", "192.0.2.2"),
        ("success", "192.0.2.1"),
    ]


def test_repeated_failures_lock_the_account_until_unlocked(
    auth: AuthService, root: Principal
) -> None:
    ops = auth.create_user(root, username="ops", password=PASSWORD, role=Role.OPERATOR)
    for _ in range(3):
        with pytest.raises(Unauthorized, match="wrong"):
            auth.login("ops", "bad guess here", "198.51.100.7")
    # Even the right password is refused while locked.
    with pytest.raises(Unauthorized, match="locked until"):
        auth.login("ops", PASSWORD, "198.51.100.7")
    auth.unlock_user(root, ops.id)
    assert auth.login("ops", PASSWORD, "198.51.100.7").failed_logins == 0


def test_a_success_resets_the_failure_count(auth: AuthService, root: Principal) -> None:
    auth.create_user(root, username="ana", password=PASSWORD, role=Role.AUDITOR)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            auth.login("ana", "bad guess here", "x")
    auth.login("ana", PASSWORD, "x")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            auth.login("ana", "bad guess here", "x")
    assert auth.login("ana", PASSWORD, "x").failed_logins == 0


def test_disabled_users_cannot_log_in(auth: AuthService, root: Principal) -> None:
    user = auth.create_user(root, username="gone", password=PASSWORD, role=Role.OPERATOR)
    auth.update_user(root, user.id, active=False)
    with pytest.raises(Unauthorized, match="disabled"):
        auth.login("gone", PASSWORD, "x")


def test_roles_limit_who_manages_whom(auth: AuthService, root: Principal) -> None:
    admin_user = auth.create_user(root, username="adm", password=PASSWORD, role=Role.ADMIN)
    admin = acting(admin_user.id, "adm", Role.ADMIN)
    op_user = auth.create_user(admin, username="op", password=PASSWORD, role=Role.OPERATOR)
    operator = acting(op_user.id, "op", Role.OPERATOR)
    with pytest.raises(Forbidden):
        auth.create_user(admin, username="su2", password=PASSWORD, role=Role.SUPERUSER)
    with pytest.raises(Forbidden):
        auth.update_user(admin, admin_user.id, role=Role.SUPERUSER)
    with pytest.raises(Forbidden):
        auth.list_users(operator)
    with pytest.raises(Forbidden):
        auth.create_user(operator, username="x1", password=PASSWORD, role=Role.AUDITOR)
    with pytest.raises(Forbidden):
        auth.query_audit(operator)
    # Everyone may edit their own name and address.
    assert auth.update_user(operator, op_user.id, display_name="Op Erator").display_name == (
        "Op Erator"
    )


def test_the_last_superuser_stays(auth: AuthService, root: Principal) -> None:
    with pytest.raises(Conflict, match="last active superuser"):
        auth.update_user(Principal.local_cli(), root.user_id or 0, role=Role.ADMIN)
    with pytest.raises(Conflict, match="last active superuser"):
        auth.delete_user(Principal.local_cli(), root.user_id or 0)
    auth.create_user(root, username="root2", password=PASSWORD, role=Role.SUPERUSER)
    auth.update_user(Principal.local_cli(), root.user_id or 0, role=Role.ADMIN)


def test_bad_input_is_refused_with_the_rule(auth: AuthService, root: Principal) -> None:
    with pytest.raises(Invalid, match="at least 10"):
        auth.create_user(root, username="ana", password="short", role=Role.AUDITOR)
    with pytest.raises(Invalid, match="username"):
        auth.create_user(root, username="a b", password=PASSWORD, role=Role.AUDITOR)
    auth.create_user(root, username="ana", password=PASSWORD, role=Role.AUDITOR)
    with pytest.raises(Conflict, match="already exists"):
        auth.create_user(root, username="ana", password=PASSWORD, role=Role.AUDITOR)
    with pytest.raises(NotFound):
        auth.get_user(root, 999_999)


def test_api_keys_authenticate_until_revoked(auth: AuthService, root: Principal) -> None:
    new = auth.create_api_key(root, user_id=root.user_id or 0, name="siem")
    assert new.secret.startswith("gar_") and new.record.prefix == new.secret[:12]
    principal = auth.authenticate_api_key(new.secret, "203.0.113.5")
    assert (principal.username, principal.via) == ("root", "api-key")
    with pytest.raises(Unauthorized, match="unknown"):
        auth.authenticate_api_key(new.secret + "x", "203.0.113.5")
    auth.revoke_api_key(root, new.record.id)
    with pytest.raises(Unauthorized, match="revoked"):
        auth.authenticate_api_key(new.secret, "203.0.113.5")
    actions = [e.action for e in auth.query_audit(root)]
    assert "api-key.create" in actions and "api-key.revoke" in actions


def test_expired_keys_and_keys_of_disabled_users_fail(auth: AuthService, root: Principal) -> None:
    ops = auth.create_user(root, username="ops", password=PASSWORD, role=Role.OPERATOR)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    short = auth.create_api_key(root, user_id=ops.id, name="short", expires_at=soon)
    later = auth.create_api_key(root, user_id=ops.id, name="long")
    with pytest.raises(Invalid, match="future"):
        auth.create_api_key(
            root, user_id=ops.id, name="past", expires_at=datetime.now(UTC) - timedelta(days=1)
        )
    time.sleep(1.2)
    with pytest.raises(Unauthorized, match="expired"):
        auth.authenticate_api_key(short.secret, "x")
    auth.update_user(root, ops.id, active=False)
    with pytest.raises(Unauthorized, match="disabled"):
        auth.authenticate_api_key(later.secret, "x")


def test_sessions_open_close_and_end_with_a_password_change(
    auth: AuthService, root: Principal
) -> None:
    user = auth.login("root", PASSWORD, "x")
    first = auth.open_session(user, "x")
    assert auth.authenticate_session(first.token, "x").via == "session"
    auth.close_session(first.token, root)
    with pytest.raises(Unauthorized):
        auth.authenticate_session(first.token, "x")
    second = auth.open_session(user, "x")
    auth.update_user(root, user.id, password="another fine passphrase")
    with pytest.raises(Unauthorized):
        auth.authenticate_session(second.token, "x")


def test_fips_mode_rehashes_on_login(store: Store) -> None:
    plain = AuthService(store, AuthSettings())
    user = plain.create_user(
        Principal.local_cli(), username="f", password=PASSWORD, role=Role.ADMIN
    )
    assert user.password_hash.startswith("$argon2id$")
    fips = AuthService(store, AuthSettings(fips_mode=True))
    assert fips.login("f", PASSWORD, "x").password_hash.startswith("$pbkdf2-sha256$")
    assert fips.login("f", PASSWORD, "x").id == user.id
