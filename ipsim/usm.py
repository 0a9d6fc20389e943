"""SNMPv3 USM (RFC 3414, RFC 7860 SHA-2, RFC 3826 AES): keys, MACs, privacy.

Pure functions over bytes; the agent and the trap sender share them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 44 keeps CFB among the "decrepit" modes; SNMP's AES still needs it.
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

# Name -> (hashlib name, truncated MAC length in octets), per RFC 3414 and RFC 7860.
AUTH_PROTOCOLS: dict[str, tuple[str, int]] = {
    "MD5": ("md5", 12),
    "SHA": ("sha1", 12),
    "SHA-224": ("sha224", 16),
    "SHA-256": ("sha256", 24),
    "SHA-384": ("sha384", 32),
    "SHA-512": ("sha512", 48),
}
PRIV_PROTOCOLS = ("AES",)  # AES-128 in CFB mode (RFC 3826), what net-snmp calls "AES"


@lru_cache(maxsize=1024)
def password_to_key(auth_protocol: str, password: str) -> bytes:
    """RFC 3414 A.2: hash one megabyte of the repeated password. Cached: it is deliberately slow."""
    if len(password) < 8:
        raise ValueError("SNMPv3 passwords must be at least 8 characters")
    hash_name = AUTH_PROTOCOLS[auth_protocol][0]
    digest = hashlib.new(hash_name)
    pw = password.encode()
    # The first 1,048,576 bytes of the endlessly repeated password.
    digest.update((pw * (1048576 // len(pw) + 1))[:1048576])
    return digest.digest()


def localize_key(auth_protocol: str, key: bytes, engine_id: bytes) -> bytes:
    hash_name = AUTH_PROTOCOLS[auth_protocol][0]
    return hashlib.new(hash_name, key + engine_id + key).digest()


@dataclass(eq=False)
class UsmUser:
    """A USM user with passwords; keys are localized to an engine on demand."""

    name: str
    auth_protocol: str = "SHA-256"
    auth_password: str = ""
    priv_protocol: str = "AES"
    priv_password: str = ""
    _keys: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict, compare=False, repr=False)

    def keys(self, engine_id: bytes) -> tuple[bytes, bytes]:
        """(auth key, priv key) localized to engine_id; priv uses the auth hash (RFC 3826)."""
        cached = self._keys.get(engine_id)
        if cached is None:
            auth_key = localize_key(
                self.auth_protocol,
                password_to_key(self.auth_protocol, self.auth_password),
                engine_id,
            )
            priv_key = localize_key(
                self.auth_protocol,
                password_to_key(self.auth_protocol, self.priv_password),
                engine_id,
            )[:16]
            cached = self._keys[engine_id] = (auth_key, priv_key)
        return cached

    @property
    def mac_length(self) -> int:
        return AUTH_PROTOCOLS[self.auth_protocol][1]


def digest(auth_protocol: str, auth_key: bytes, whole_message: bytes) -> bytes:
    """HMAC of the whole message (with the auth parameters zeroed), truncated per protocol."""
    hash_name, length = AUTH_PROTOCOLS[auth_protocol]
    return hmac.new(auth_key, whole_message, hash_name).digest()[:length]


def _aes_iv(boots: int, engine_time: int, salt: bytes) -> bytes:
    return boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt


def encrypt(priv_key: bytes, boots: int, engine_time: int, salt: bytes, plaintext: bytes) -> bytes:
    cipher = Cipher(algorithms.AES(priv_key), CFB(_aes_iv(boots, engine_time, salt)))
    enc = cipher.encryptor()
    return enc.update(plaintext) + enc.finalize()


def decrypt(priv_key: bytes, boots: int, engine_time: int, salt: bytes, ciphertext: bytes) -> bytes:
    cipher = Cipher(algorithms.AES(priv_key), CFB(_aes_iv(boots, engine_time, salt)))
    dec = cipher.decryptor()
    return dec.update(ciphertext) + dec.finalize()
