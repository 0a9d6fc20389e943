"""Who is calling a Web service, and may they.

The SMS takes three kinds of credentials, and scripts often send more than one at once
(facts sheet, tolerance rule 3): an ``X-SMS-API-KEY`` header, HTTP Basic, and the legacy
``smsuser``/``smspass`` parameters (query string or form). Garrison also takes its API key
as ``Authorization: Bearer``, as ``/api/v1`` does.

Rules:
- Every credential sent must be valid: one wrong password fails the call, even beside a
  good API key (and counts towards the account's lockout, as any wrong password does).
- All of them must name the same user. When they disagree (an API key of one user and
  ``smsuser`` of another, or two different ``smsuser`` values) the call is refused with
  401 *before any password is checked*: Garrison cannot tell whom the caller means to act
  as, picking one would let a stray header decide, and checking the other user's password
  would lock out someone who never made the call.
- The user's role needs `Capability.WEB_SERVICES`, else 403.

`credentials_of` is pure; `authenticate` asks `AuthService` (API key digests, password
hashes, lockout, the audit rows for failed logins).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from garrison.auth import AuthService, Capability, Principal
from garrison.errors import Forbidden, Unauthorized
from garrison.webservices.params import ParamError, Params

API_KEY_HEADER = "X-SMS-API-KEY"
USER_PARAM = "smsuser"
PASSWORD_PARAM = "smspass"
CREDENTIAL_PARAMS = (USER_PARAM, PASSWORD_PARAM)
CHALLENGE = {"WWW-Authenticate": 'Basic realm="garrison", charset="UTF-8"'}


@dataclass(frozen=True, slots=True)
class Credentials:
    api_keys: tuple[str, ...] = ()
    passwords: tuple[tuple[str, str], ...] = ()  # (user name, password), duplicates removed

    @property
    def claimed_user(self) -> str | None:
        """The user name the caller claims, before anything is checked (for the audit
        trail of a refused call); None when only API keys were sent."""
        return self.passwords[0][0] if self.passwords else None

    def __bool__(self) -> bool:
        return bool(self.api_keys or self.passwords)


def _basic(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("malformed HTTP Basic credentials: not base64") from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")  # what older clients send
    user, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthorized("malformed HTTP Basic credentials: no ':' between user and password")
    return user, password


def credentials_of(
    authorization: Iterable[str], api_keys: Iterable[str], params: Params
) -> Credentials:
    """The credentials a request carries: its Authorization and X-SMS-API-KEY header values
    and its merged parameters. Raises Unauthorized when they are malformed or incomplete."""
    keys = [key.strip() for key in api_keys if key.strip()]
    passwords: list[tuple[str, str]] = []
    for value in authorization:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() == "basic":
            passwords.append(_basic(rest))
        elif scheme.lower() == "bearer" and rest.strip():
            keys.append(rest.strip())
    try:
        user = params.single(USER_PARAM)
        password_values = list(dict.fromkeys(params.get_all(PASSWORD_PARAM)))
    except ParamError as exc:
        raise Unauthorized(str(exc)) from None
    if len(password_values) > 1:
        raise Unauthorized(
            f"{PASSWORD_PARAM} is given {len(password_values)} times with different values"
        )
    if user is not None and not password_values:
        raise Unauthorized(f"{USER_PARAM} without {PASSWORD_PARAM}")
    if user is None and password_values:
        raise Unauthorized(f"{PASSWORD_PARAM} without {USER_PARAM}")
    if user is not None:
        passwords.append((user, password_values[0]))
    return Credentials(
        api_keys=tuple(dict.fromkeys(keys)), passwords=tuple(dict.fromkeys(passwords))
    )


def authenticate(auth: AuthService, credentials: Credentials, client_address: str) -> Principal:
    """Check every credential; all must be valid and name one user. Blocking (password
    hashing and the store): run it in a worker thread."""
    if not credentials:
        raise Unauthorized(
            f"authentication required: send an {API_KEY_HEADER} header, HTTP Basic "
            f"credentials, or {USER_PARAM} and {PASSWORD_PARAM}"
        )
    claimed = {user for user, _ in credentials.passwords}
    if len(claimed) > 1:
        raise Unauthorized("the credentials name different users; send one user's")
    principals = [auth.authenticate_api_key(key, client_address) for key in credentials.api_keys]
    owners = {p.username for p in principals}
    if len(owners) > 1:
        raise Unauthorized("the API keys belong to different users; send one user's")
    if owners and claimed and owners != claimed:
        raise Unauthorized("the API key and the user name name different users; send one user's")
    principals += [
        auth.authenticate_password(user, password, client_address)
        for user, password in credentials.passwords
    ]
    # An API key's principal first: the audit trail then says which key acted.
    return principals[0]


def authorize(principal: Principal) -> None:
    if not principal.can(Capability.WEB_SERVICES):
        raise Forbidden(
            f"role {principal.role} may not use the Web services (needs {Capability.WEB_SERVICES})"
        )
