"""Password hashing: argon2id by default, PBKDF2-SHA256 in FIPS mode. Pure, no I/O.

Both formats verify in either mode, so turning FIPS mode on never locks anyone out; a
successful login re-hashes with the current scheme (`needs_rehash`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PBKDF2_PREFIX = "$pbkdf2-sha256$"
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
PBKDF2_ITERATIONS = 600_000
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

_argon2 = PasswordHasher()


class WeakPassword(ValueError):
    """The password breaks the policy; the message says which rule."""


def check_policy(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at most {MAX_PASSWORD_LENGTH} characters")
    if len(username) >= 3 and username.lower() in password.lower():
        raise WeakPassword("password must not contain the user name")


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, fips: bool = False) -> str:
    if not fips:
        return _argon2.hash(password)
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"{PBKDF2_PREFIX}{PBKDF2_ITERATIONS}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    if stored.startswith(PBKDF2_PREFIX):
        try:
            iterations, salt, digest = stored[len(PBKDF2_PREFIX) :].split("$")
            expected = _unb64(digest)
            got = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(salt), int(iterations))
        except ValueError:
            return False
        return hmac.compare_digest(got, expected)
    try:
        return _argon2.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str, *, fips: bool = False) -> bool:
    if fips:
        return not stored.startswith(f"{PBKDF2_PREFIX}{PBKDF2_ITERATIONS}$")
    if stored.startswith(PBKDF2_PREFIX):
        return True
    try:
        return _argon2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


# A hash of nothing in particular: unknown users are checked against it so that a login
# for a missing user costs as long as one for a real user.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
