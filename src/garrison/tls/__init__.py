"""TLS for every Garrison listener: profiles (modern, legacy, fips) and server certificates."""

from garrison.tls.certs import (
    DEFAULT_KEY_TYPE,
    KEY_TYPES,
    CertificateInfo,
    KeyType,
    TlsError,
    certificate_info,
    ensure_self_signed,
    import_certificate,
)
from garrison.tls.profiles import (
    DEFAULT_PROFILE,
    PROFILES,
    CipherSuite,
    ProfileDescription,
    client_context,
    describe,
    server_context,
)

__all__ = [
    "DEFAULT_KEY_TYPE",
    "DEFAULT_PROFILE",
    "KEY_TYPES",
    "PROFILES",
    "CertificateInfo",
    "CipherSuite",
    "KeyType",
    "ProfileDescription",
    "TlsError",
    "certificate_info",
    "client_context",
    "describe",
    "ensure_self_signed",
    "import_certificate",
    "server_context",
]
