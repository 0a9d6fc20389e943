"""Persistence: SQLAlchemy models, repositories and Alembic migrations.

Only this package speaks SQL; services get plain records from a `Store.transaction()`.
"""

from garrison.store.database import Store, StoreError, Transaction
from garrison.store.migrate import current_revision, downgrade, head_revision, upgrade
from garrison.store.records import ApiKeyRecord, AuditRecord, SessionRecord, UserRecord

__all__ = [
    "ApiKeyRecord",
    "AuditRecord",
    "SessionRecord",
    "Store",
    "StoreError",
    "Transaction",
    "UserRecord",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]
