"""Password hashes: argon2id by default, PBKDF2-SHA256 in FIPS mode, both verifiable."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garrison.auth import passwords


def test_default_hash_is_argon2id_and_verifies() -> None:
    stored = passwords.hash_password("a long enough secret")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "a long enough secret")
    assert not passwords.verify_password(stored, "a long enough secreT")


def test_fips_hash_is_pbkdf2_sha256_as_hashlib_computes_it() -> None:
    stored = passwords.hash_password("fips password 1", fips=True)
    _, scheme, iterations, salt, digest = stored.split("$")
    assert scheme == "pbkdf2-sha256" and int(iterations) == passwords.PBKDF2_ITERATIONS
    # hashlib is the reference implementation.
    expected = hashlib.pbkdf2_hmac(
        "sha256", b"fips password 1", passwords._unb64(salt), int(iterations)
    )
    assert passwords._unb64(digest) == expected
    assert passwords.verify_password(stored, "fips password 1")
    assert not passwords.verify_password(stored, "fips password 2")


def test_switching_modes_asks_for_a_rehash() -> None:
    argon = passwords.hash_password("switch me please")
    pbkdf2 = passwords.hash_password("switch me please", fips=True)
    assert passwords.needs_rehash(argon, fips=True)
    assert not passwords.needs_rehash(argon, fips=False)
    assert passwords.needs_rehash(pbkdf2, fips=False)
    assert not passwords.needs_rehash(pbkdf2, fips=True)


@pytest.mark.parametrize("stored", ["", "garbage", "$pbkdf2-sha256$x$y", "$argon2id$v=19$bad"])
def test_malformed_stored_hashes_never_verify(stored: str) -> None:
    assert passwords.verify_password(stored, "anything at all") is False


def test_policy_names_the_rule() -> None:
    with pytest.raises(passwords.WeakPassword, match="at least 10"):
        passwords.check_policy("short")
    with pytest.raises(passwords.WeakPassword, match="user name"):
        passwords.check_policy("xx-operator-xx", "operator")
    passwords.check_policy("a fine passphrase", "ana")


@settings(max_examples=20, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_password_round_trips_in_fips_mode(password: str) -> None:
    stored = passwords.hash_password(password, fips=True)
    assert passwords.verify_password(stored, password)
