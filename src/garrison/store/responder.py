"""The Responder's tables: policies (kept as their JSON document), responses (the SMS's
Response History and QUARANTINE_HOSTS) and each response's actions with their attempts.

Everything the engine needs after a crash is here: open responses and their expiry, and
which actions have succeeded, so a restart never runs a succeeded action twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from garrison.store.models import Base, UTCDateTime, utcnow
from garrison.store.records import update_row

ResponseId = BigInteger().with_variant(Integer(), "sqlite")


class ResponderPolicy(Base):
    __tablename__ = "responder_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    document: Mapped[str] = mapped_column(Text)  # the PolicySpec as JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Response(Base):
    """One response: a policy acting on one host."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_state_expires", "state", "expires_at"),
        Index("ix_responses_address_state", "address", "state"),
        Index("ix_responses_policy_state_address", "policy_id", "state", "address"),
    )

    id: Mapped[int] = mapped_column(ResponseId, primary_key=True)
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("responder_policies.id", ondelete="SET NULL"), nullable=True
    )
    policy_name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(45))
    mac: Mapped[str] = mapped_column(String(17), default="")
    user_name: Mapped[str] = mapped_column(String(255), default="")
    trigger: Mapped[str] = mapped_column(String(16))
    authority: Mapped[str] = mapped_column(String(64), default="")  # who or what opened it
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # triggering events, JSON
    # The policy's actions as they were when the response opened (JSON), so that a policy
    # edited later does not change what an open response does when it closes.
    plan: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(8), default="open")  # open, closing, closed
    host_state: Mapped[str] = mapped_column(String(16), default="INITIAL")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_reason: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ResponseAction(Base):
    """One action of a response, in its phase, with its latest outcome."""

    __tablename__ = "response_actions"

    id: Mapped[int] = mapped_column(ResponseId, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    phase: Mapped[str] = mapped_column(String(8))  # initial, timeout
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    # pending, running, succeeded, failed, skipped
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    id: int
    name: str
    builtin: bool
    enabled: bool
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ResponseActionRecord:
    id: int
    response_id: int
    phase: str
    position: int
    name: str
    kind: str
    state: str
    attempts: int
    detail: str
    data: dict[str, str]
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    id: int
    policy_id: int | None
    policy: str
    address: str
    mac: str
    user: str
    trigger: str
    authority: str
    reason: str
    evidence: list[dict[str, Any]]
    plan: dict[str, Any]
    state: str
    host_state: str
    opened_at: datetime
    expires_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    updated_at: datetime
    actions: tuple[ResponseActionRecord, ...] = ()

    @property
    def notify_id(self) -> int:
        """The NMS NotifyId: the response id, which increments per quarantine event."""
        return self.id


@dataclass(frozen=True, slots=True)
class NewAction:
    phase: str
    position: int
    name: str
    kind: str


def _policy_record(row: ResponderPolicy) -> PolicyRecord:
    return PolicyRecord(
        id=row.id,
        name=row.name,
        builtin=row.builtin,
        enabled=row.enabled,
        document=json.loads(row.document),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _action_record(row: ResponseAction) -> ResponseActionRecord:
    values = {
        name: getattr(row, name)
        for name in ResponseActionRecord.__dataclass_fields__
        if name != "data"
    }
    return ResponseActionRecord(**values, data=json.loads(row.data or "{}"))


def _response_record(row: Response, actions: Sequence[ResponseAction] = ()) -> ResponseRecord:
    return ResponseRecord(
        id=row.id,
        policy_id=row.policy_id,
        policy=row.policy_name,
        address=row.address,
        mac=row.mac,
        user=row.user_name,
        trigger=row.trigger,
        authority=row.authority,
        reason=row.reason,
        evidence=json.loads(row.evidence or "[]"),
        plan=json.loads(row.plan or "{}"),
        state=row.state,
        host_state=row.host_state,
        opened_at=row.opened_at,
        expires_at=row.expires_at,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        updated_at=row.updated_at,
        actions=tuple(_action_record(a) for a in actions),
    )


# -- repositories -------------------------------------------------------------------------


class Policies:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, *, name: str, document: dict[str, Any], builtin: bool = False) -> PolicyRecord:
        row = ResponderPolicy(
            name=name,
            builtin=builtin,
            enabled=bool(document.get("enabled", True)),
            document=json.dumps(document),
        )
        self._session.add(row)
        self._session.flush()
        return _policy_record(row)

    def get(self, policy_id: int) -> PolicyRecord | None:
        row = self._session.get(ResponderPolicy, policy_id)
        return None if row is None else _policy_record(row)

    def by_name(self, name: str) -> PolicyRecord | None:
        row = self._session.scalar(select(ResponderPolicy).where(ResponderPolicy.name == name))
        return None if row is None else _policy_record(row)

    def list(self) -> list[PolicyRecord]:
        rows = self._session.scalars(select(ResponderPolicy).order_by(ResponderPolicy.name))
        return [_policy_record(r) for r in rows]

    def update(self, policy_id: int, *, name: str, document: dict[str, Any]) -> PolicyRecord | None:
        fields = {
            "name": name,
            "enabled": bool(document.get("enabled", True)),
            "document": json.dumps(document),
        }
        row = update_row(self._session, ResponderPolicy, policy_id, fields)
        return None if row is None else _policy_record(row)

    def delete(self, policy_id: int) -> bool:
        row = self._session.get(ResponderPolicy, policy_id)
        if row is None:
            return False
        self._session.delete(row)
        self._session.flush()
        return True

    def last_change(self) -> datetime | None:
        return self._session.scalar(select(func.max(ResponderPolicy.updated_at)))

    def count(self) -> int:
        return self._session.scalar(select(func.count(ResponderPolicy.id))) or 0


class Responses:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        *,
        actions: Sequence[NewAction],
        evidence: list[dict[str, Any]],
        plan: dict[str, Any],
        **fields: Any,
    ) -> ResponseRecord:
        row = Response(evidence=json.dumps(evidence), plan=json.dumps(plan), **fields)
        self._session.add(row)
        self._session.flush()
        self.add_actions(row.id, actions)
        return self.get(row.id)  # type: ignore[return-value]

    def add_actions(self, response_id: int, actions: Sequence[NewAction]) -> None:
        for action in actions:
            self._session.add(
                ResponseAction(
                    response_id=response_id,
                    phase=action.phase,
                    position=action.position,
                    name=action.name,
                    kind=action.kind,
                )
            )
        self._session.flush()

    def _actions(self, response_ids: Sequence[int]) -> dict[int, list[ResponseAction]]:
        found: dict[int, list[ResponseAction]] = {i: [] for i in response_ids}
        if not response_ids:
            return found
        query = (
            select(ResponseAction)
            .where(ResponseAction.response_id.in_(response_ids))
            .order_by(ResponseAction.response_id, ResponseAction.phase, ResponseAction.position)
        )
        for action in self._session.scalars(query):
            found[action.response_id].append(action)
        return found

    def get(self, response_id: int) -> ResponseRecord | None:
        row = self._session.get(Response, response_id)
        if row is None:
            return None
        return _response_record(row, self._actions([row.id])[row.id])

    def list(
        self,
        *,
        states: Sequence[str] = (),
        policy: str | None = None,
        address: str | None = None,
        trigger: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int | None = 100,
        with_actions: bool = True,
    ) -> list[ResponseRecord]:
        query = select(Response)
        if states:
            query = query.where(Response.state.in_(states))
        if policy:
            query = query.where(Response.policy_name == policy)
        if address:
            query = query.where(Response.address == address)
        if trigger:
            query = query.where(Response.trigger == trigger)
        if since:
            query = query.where(Response.opened_at >= since)
        if until:
            query = query.where(Response.opened_at < until)
        query = query.order_by(Response.id.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        rows = list(self._session.scalars(query))
        actions = self._actions([r.id for r in rows]) if with_actions else {}
        return [_response_record(r, actions.get(r.id, ())) for r in rows]

    def count(self, *, states: Sequence[str] = ()) -> int:
        query = select(func.count(Response.id))
        if states:
            query = query.where(Response.state.in_(states))
        return self._session.scalar(query) or 0

    def open_for(self, policy_id: int, address: str) -> ResponseRecord | None:
        row = self._session.scalar(
            select(Response)
            .where(
                Response.policy_id == policy_id,
                Response.address == address,
                Response.state == "open",
            )
            .order_by(Response.id.desc())
            .limit(1)
        )
        return None if row is None else _response_record(row, self._actions([row.id])[row.id])

    def open_count(self, policy_id: int) -> int:
        query = select(func.count(Response.id)).where(
            Response.policy_id == policy_id, Response.state == "open"
        )
        return self._session.scalar(query) or 0

    def unfinished(self) -> list[ResponseRecord]:
        """Open and closing responses, with their actions: what the engine takes up on
        start."""
        rows = list(
            self._session.scalars(select(Response).where(Response.state.in_(("open", "closing"))))
        )
        actions = self._actions([r.id for r in rows])
        return [_response_record(r, actions[r.id]) for r in rows]

    def update(self, response_id: int, **fields: Any) -> ResponseRecord | None:
        row = update_row(self._session, Response, response_id, fields)
        return None if row is None else self.get(response_id)

    def set(self, response_id: int, **fields: Any) -> None:
        """Change a response's fields without reading it back."""
        fields.setdefault("updated_at", utcnow())
        self._session.execute(update(Response).where(Response.id == response_id).values(**fields))

    def close_many(self, response_ids: Sequence[int], *, reason: str) -> list[ResponseRecord]:
        """Mark those of ``response_ids`` still open as closing; return them, with their
        actions (their timeout actions run next)."""
        closing: list[Response] = []
        for start in range(0, len(response_ids), 500):  # bounded IN lists
            chunk = list(response_ids[start : start + 500])
            rows = self._session.scalars(
                select(Response).where(Response.id.in_(chunk), Response.state == "open")
            )
            for row in rows:
                row.state = "closing"
                row.close_reason = reason
                closing.append(row)
        self._session.flush()
        actions = self._actions([r.id for r in closing])
        return [_response_record(r, actions[r.id]) for r in closing]

    def set_action(self, action_id: int, **fields: Any) -> None:
        if "data" in fields:
            fields["data"] = json.dumps(fields["data"])
        self._session.execute(
            update(ResponseAction).where(ResponseAction.id == action_id).values(**fields)
        )

    def start_attempt(self, action_id: int, at: datetime) -> None:
        self._session.execute(
            update(ResponseAction)
            .where(ResponseAction.id == action_id)
            .values(
                state="running",
                attempts=ResponseAction.attempts + 1,
                started_at=func.coalesce(ResponseAction.started_at, at),
            )
        )
