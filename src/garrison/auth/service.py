"""Users, logins with lockout, API keys and console sessions; every change audited.

The API and the CLI both call this; it takes and returns plain records and raises the
errors of `garrison.errors`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from garrison.auth import passwords
from garrison.auth.audit import audited
from garrison.auth.principal import Principal
from garrison.auth.roles import Capability, Role, may_manage
from garrison.config.settings import AuthSettings
from garrison.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from garrison.store import ApiKeyRecord, AuditRecord, Store, Transaction, UserRecord
from garrison.store.models import utcnow

API_KEY_PREFIX = "gar_"
# A key's last use is written at most this often, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just made: ``secret`` is shown once and never stored."""

    record: ApiKeyRecord
    secret: str


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_at: datetime


def _check_username(username: str) -> None:
    if not 1 <= len(username) <= 64 or not set(username) <= USERNAME_CHARS:
        raise Invalid("username must be 1-64 characters of letters, digits and . _ - @")


class AuthService:
    def __init__(self, store: Store, settings: AuthSettings) -> None:
        self.store = store
        self.settings = settings

    # -- plumbing -----------------------------------------------------------------------

    def _change(
        self, actor: Principal, action: str, target: str, **detail: Any
    ) -> AbstractContextManager[Transaction]:
        return audited(self.store, actor, action, target, **detail)

    def _audit_failure(
        self, actor: str, action: str, target: str, client_address: str, reason: str
    ) -> None:
        with self.store.transaction() as tx:
            tx.audit.add(
                actor=actor,
                action=action,
                target=target,
                outcome="failure",
                client_address=client_address,
                detail=json.dumps({"reason": reason}),
            )

    def _user(self, tx: Transaction, user_id: int) -> UserRecord:
        user = tx.users.get(user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id}")
        return user

    # -- users --------------------------------------------------------------------------

    def create_user(
        self,
        actor: Principal,
        *,
        username: str,
        password: str,
        role: Role | str,
        display_name: str = "",
        email: str = "",
    ) -> UserRecord:
        role = Role(role)
        if not may_manage(actor.role, role):
            raise Forbidden(f"role {actor.role} may not create a user of role {role}")
        _check_username(username)
        try:
            passwords.check_policy(password, username)
        except passwords.WeakPassword as exc:
            raise Invalid(str(exc)) from None
        password_hash = passwords.hash_password(password, fips=self.settings.fips_mode)
        with self._change(actor, "user.create", f"user:{username}", role=role) as tx:
            if tx.users.by_name(username) is not None:
                raise Conflict(f"user {username!r} already exists")
            return tx.users.add(
                username=username,
                role=role,
                password_hash=password_hash,
                display_name=display_name,
                email=email,
            )

    def list_users(
        self, actor: Principal, *, offset: int = 0, limit: int = 100
    ) -> list[UserRecord]:
        actor.require(Capability.USERS_READ)
        with self.store.transaction() as tx:
            return tx.users.list(offset=offset, limit=limit)

    def get_user(self, actor: Principal, user_id: int) -> UserRecord:
        if actor.user_id != user_id:
            actor.require(Capability.USERS_READ)
        with self.store.transaction() as tx:
            return self._user(tx, user_id)

    def update_user(
        self,
        actor: Principal,
        user_id: int,
        *,
        role: Role | str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        active: bool | None = None,
        password: str | None = None,
    ) -> UserRecord:
        fields: dict[str, Any] = {}
        if display_name is not None:
            fields["display_name"] = display_name
        if email is not None:
            fields["email"] = email
        if active is not None:
            fields["active"] = active
        if role is not None:
            fields["role"] = Role(role)
        changed = sorted(fields) + (["password"] if password is not None else [])
        with self.store.transaction() as tx:
            user = self._user(tx, user_id)
        own_profile = actor.user_id == user_id and set(fields) <= {"display_name", "email"}
        if not own_profile:
            if not may_manage(actor.role, user.role):
                raise Forbidden(f"role {actor.role} may not change a user of role {user.role}")
            if role is not None and not may_manage(actor.role, Role(role)):
                raise Forbidden(f"role {actor.role} may not grant role {role}")
        if password is not None:
            try:
                passwords.check_policy(password, user.username)
            except passwords.WeakPassword as exc:
                raise Invalid(str(exc)) from None
            fields["password_hash"] = passwords.hash_password(
                password, fips=self.settings.fips_mode
            )
            fields.update(failed_logins=0, locked_until=None)
        with self._change(actor, "user.update", f"user:{user.username}", fields=changed) as tx:
            self._keep_a_superuser(tx, user, fields)
            updated = tx.users.update(user_id, **fields)
            assert updated is not None
            if fields.get("active") is False or "password_hash" in fields:
                tx.console_sessions.revoke_for_user(user_id, utcnow())
            return updated

    def unlock_user(self, actor: Principal, user_id: int) -> UserRecord:
        actor.require(Capability.USERS_WRITE)
        with self.store.transaction() as tx:
            user = self._user(tx, user_id)
        if not may_manage(actor.role, user.role):
            raise Forbidden(f"role {actor.role} may not change a user of role {user.role}")
        with self._change(actor, "user.unlock", f"user:{user.username}") as tx:
            updated = tx.users.update(user_id, failed_logins=0, locked_until=None)
            assert updated is not None
            return updated

    def delete_user(self, actor: Principal, user_id: int) -> None:
        with self.store.transaction() as tx:
            user = self._user(tx, user_id)
        if not may_manage(actor.role, user.role):
            raise Forbidden(f"role {actor.role} may not delete a user of role {user.role}")
        if actor.user_id == user_id:
            raise Conflict("you cannot delete your own account")
        with self._change(actor, "user.delete", f"user:{user.username}") as tx:
            self._keep_a_superuser(tx, user, {"active": False})
            tx.users.delete(user_id)

    @staticmethod
    def _keep_a_superuser(tx: Transaction, user: UserRecord, fields: dict[str, Any]) -> None:
        """Refuse a change that would leave no active superuser."""
        if user.role != Role.SUPERUSER or not user.active:
            return
        demoted = fields.get("role", Role.SUPERUSER) != Role.SUPERUSER
        if (demoted or fields.get("active") is False) and tx.users.count_role(Role.SUPERUSER) <= 1:
            raise Conflict("this is the last active superuser; create another one first")

    # -- logins -------------------------------------------------------------------------

    def login(self, username: str, password: str, client_address: str) -> UserRecord:
        """Check a password; count failures and lock after too many in a row."""
        with self.store.transaction() as tx:
            user = tx.users.by_name(username)
        if user is None:
            passwords.verify_password(passwords.DUMMY_HASH, password)
            self._audit_failure(
                username[:64], "login", f"user:{username[:64]}", client_address, "unknown user"
            )
            raise Unauthorized("wrong user name or password")
        now = utcnow()
        if user.locked_until is not None and user.locked_until > now:
            self._audit_failure(username, "login", f"user:{username}", client_address, "locked")
            raise Unauthorized(
                f"account locked until {user.locked_until:%Y-%m-%d %H:%M:%S} UTC "
                "after repeated failed logins; an administrator can unlock it"
            )
        if not passwords.verify_password(user.password_hash, password):
            self._record_failure(user, client_address)
            raise Unauthorized("wrong user name or password")
        if not user.active:
            self._audit_failure(username, "login", f"user:{username}", client_address, "disabled")
            raise Unauthorized("this account is disabled")
        fields: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if passwords.needs_rehash(user.password_hash, fips=self.settings.fips_mode):
            fields["password_hash"] = passwords.hash_password(
                password, fips=self.settings.fips_mode
            )
        with self.store.transaction() as tx:
            updated = tx.users.update(user.id, **fields)
            tx.audit.add(
                actor=username,
                action="login",
                target=f"user:{username}",
                client_address=client_address,
            )
        assert updated is not None
        return updated

    def _record_failure(self, user: UserRecord, client_address: str) -> None:
        limit = self.settings.max_failed_logins
        lock_until = utcnow() + timedelta(minutes=self.settings.lockout_minutes)
        with self.store.transaction() as tx:
            failures = tx.users.record_failure(
                user.id, locked_until=lock_until if user.failed_logins + 1 >= limit else None
            )
            reason = "wrong password" + (f"; locked after {failures}" if failures >= limit else "")
            tx.audit.add(
                actor=user.username,
                action="login",
                target=f"user:{user.username}",
                outcome="failure",
                client_address=client_address,
                detail=json.dumps({"reason": reason}),
            )

    def _principal(
        self, user: UserRecord, via: str, client_address: str, api_key_id: int | None = None
    ) -> Principal:
        return Principal(
            username=user.username,
            role=Role(user.role),
            via=via,
            client_address=client_address,
            user_id=user.id,
            api_key_id=api_key_id,
        )

    def authenticate_password(self, username: str, password: str, client_address: str) -> Principal:
        user = self.login(username, password, client_address)
        return self._principal(user, "password", client_address)

    # -- API keys -----------------------------------------------------------------------

    def create_api_key(
        self, actor: Principal, *, user_id: int, name: str, expires_at: datetime | None = None
    ) -> NewApiKey:
        if actor.user_id != user_id:
            actor.require(Capability.API_KEYS_ANY)
        if not 1 <= len(name) <= 128:
            raise Invalid("key name must be 1-128 characters")
        if expires_at is not None and expires_at <= utcnow():
            raise Invalid("expires_at must be in the future")
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            owner = self._user(tx, user_id)
        if actor.user_id != user_id and not may_manage(actor.role, owner.role):
            raise Forbidden(f"role {actor.role} may not make keys for a {owner.role}")
        with self._change(actor, "api-key.create", f"user:{owner.username}", name=name) as tx:
            record = tx.api_keys.add(
                user_id=user_id,
                name=name,
                prefix=secret[:12],
                digest=digest(secret),
                expires_at=expires_at,
            )
        return NewApiKey(record=record, secret=secret)

    def list_api_keys(self, actor: Principal, user_id: int | None = None) -> list[ApiKeyRecord]:
        if user_id is None or user_id != actor.user_id:
            actor.require(Capability.API_KEYS_ANY)
        with self.store.transaction() as tx:
            return tx.api_keys.for_user(user_id)

    def revoke_api_key(self, actor: Principal, key_id: int) -> ApiKeyRecord:
        with self.store.transaction() as tx:
            key = tx.api_keys.get(key_id)
            if key is None:
                raise NotFound(f"no API key with id {key_id}")
            owner = self._user(tx, key.user_id)
        if actor.user_id != key.user_id:
            actor.require(Capability.API_KEYS_ANY)
            if not may_manage(actor.role, owner.role):
                raise Forbidden(f"role {actor.role} may not revoke keys of a {owner.role}")
        with self._change(actor, "api-key.revoke", f"user:{owner.username}", key=key.prefix) as tx:
            revoked = tx.api_keys.revoke(key_id, utcnow())
            assert revoked is not None
            return revoked

    def authenticate_api_key(self, secret: str, client_address: str) -> Principal:
        now = utcnow()
        with self.store.transaction() as tx:
            key = tx.api_keys.by_digest(digest(secret))
            user = tx.users.get(key.user_id) if key is not None else None
            if key is None or user is None:
                raise Unauthorized("unknown API key")
            if key.revoked_at is not None:
                raise Unauthorized("this API key was revoked")
            if key.expires_at is not None and key.expires_at <= now:
                raise Unauthorized("this API key has expired")
            if not user.active:
                raise Unauthorized("the owner of this API key is disabled")
            if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
                tx.api_keys.touch(key.id, now)
        return self._principal(user, "api-key", client_address, api_key_id=key.id)

    # -- console sessions ---------------------------------------------------------------

    def open_session(self, user: UserRecord, client_address: str) -> NewSession:
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + timedelta(hours=self.settings.session_hours)
        with self.store.transaction() as tx:
            tx.console_sessions.add(
                user_id=user.id,
                digest=digest(token),
                client_address=client_address,
                expires_at=expires_at,
            )
        return NewSession(token=token, expires_at=expires_at)

    def authenticate_session(self, token: str, client_address: str) -> Principal:
        with self.store.transaction() as tx:
            session = tx.console_sessions.by_digest(digest(token))
            user = tx.users.get(session.user_id) if session is not None else None
        if session is None or user is None or session.revoked_at is not None:
            raise Unauthorized("not logged in")
        if session.expires_at <= utcnow():
            raise Unauthorized("session expired; log in again")
        if not user.active:
            raise Unauthorized("this account is disabled")
        return self._principal(user, "session", client_address)

    def close_session(self, token: str, actor: Principal) -> None:
        with self._change(actor, "logout", f"user:{actor.username}") as tx:
            session = tx.console_sessions.by_digest(digest(token))
            if session is not None:
                tx.console_sessions.revoke(session.id, utcnow())

    # -- audit --------------------------------------------------------------------------

    def query_audit(
        self,
        reader: Principal,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """The audit log, newest first; ``actor`` filters by who acted."""
        reader.require(Capability.AUDIT_READ)
        with self.store.transaction() as tx:
            return tx.audit.query(
                actor=actor, action=action, since=since, until=until, offset=offset, limit=limit
            )
