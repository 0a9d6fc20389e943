"""The TLS context of an action's outbound connection (Web, syslog over TLS, SMTP
STARTTLS). Not an action: a helper the actions share."""

from __future__ import annotations

import ssl
from pathlib import Path

from garrison.responder.actions.base import ActionFailed, ActionServices
from garrison.tls import TlsError, client_context


def outbound_tls_context(
    services: ActionServices, *, ca_file: str, verify_tls: bool, what: str
) -> ssl.SSLContext:
    """The action's own CA file (or no verification) where its settings ask for it, else
    the shared client context, else the TLS profile's default. Settings that cannot make
    a context are a non-retryable :class:`ActionFailed` naming ``what``."""
    profile = services.settings.tls.profile
    try:
        if ca_file or not verify_tls:
            cafile = Path(ca_file) if ca_file else None
            return client_context(profile, cafile, verify=verify_tls)
        return services.client_tls or client_context(profile)
    except TlsError as exc:
        raise ActionFailed(f"{what} TLS settings: {exc}", retryable=False) from None
