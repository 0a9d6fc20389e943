"""Cross-site request forgery guards for the console. Pure: no I/O.

Two layers. Every state-changing console request must come from Garrison's own pages:
its ``Origin`` (or, failing that, ``Referer``) must name the host the request was sent
to; browsers always send one on a cross-site POST. And every form of a logged-in user
carries a token derived from the session token (so it changes with each login and is
worth nothing without the HttpOnly session cookie): SHA-256 of a fixed label and the
session token. The same token, in an ``X-CSRF-Token`` header, guards the console's own
calls to ``/api/v1`` made with the session cookie.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(session_token: str) -> str:
    return hashlib.sha256(b"garrison-csrf:" + session_token.encode()).hexdigest()


def token_matches(session_token: str, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(token_for(session_token), offered or "")


def same_origin(host: str | None, origin: str | None, referer: str | None) -> bool:
    """Whether a request's Origin (else Referer) names ``host`` (the Host header,
    ``name[:port]``). Neither header at all is refused: a browser sends one."""
    if not host:
        return False
    source = origin if origin and origin != "null" else referer
    if not source:
        return False
    parts = urlsplit(source)
    return parts.scheme == "https" and parts.netloc.lower() == host.lower()
