"""``repEntries/*``: add, delete, query and import reputation entries (facts sheet §1.2).

Stub: the methods are being written (issue 5); until then every method answers 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from garrison.webservices.app import Handler

METHODS: dict[str, Handler] = {}
