"""Policies and the response history for the API and the CLI: capability checks, audit,
plain records. Opening and closing responses is the engine's (it runs the actions); this
reads what it wrote."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack

from garrison.auth import Capability, Principal
from garrison.auth.audit import audited
from garrison.errors import Conflict, Invalid, NotFound
from garrison.responder.policy import DEFAULT_POLICY, PolicySpec, compile_policy, parse_spec
from garrison.store import Store
from garrison.store.responder import Policies, PolicyRecord, ResponseRecord, Responses

RESPONSE_STATES = ("open", "closing", "closed")


class ResponseFilters(TypedDict, total=False):
    """Which responses :meth:`ResponderService.list_responses` returns (all by default,
    newest first, 100 at most); passed on to ``Responses.list`` as they are."""

    states: Sequence[str]
    policy: str | None
    address: str | None
    trigger: str | None
    since: datetime | None
    until: datetime | None
    offset: int
    limit: int


class ResponderService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- policies -----------------------------------------------------------------------

    def list_policies(self, actor: Principal) -> list[PolicyRecord]:
        actor.require(Capability.RESPONDER_READ)
        with self.store.transaction() as tx:
            return Policies(tx.session).list()

    def get_policy(self, actor: Principal, key: int | str) -> PolicyRecord:
        actor.require(Capability.RESPONDER_READ)
        with self.store.transaction() as tx:
            return self._policy(Policies(tx.session), key)

    @staticmethod
    def _policy(policies: Policies, key: int | str) -> PolicyRecord:
        record = (
            policies.get(key)
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit())
            else policies.by_name(str(key))
        )
        if record is None and isinstance(key, str):
            record = policies.by_name(key)
        if record is None:
            raise NotFound(f"no Responder policy {key!r}")
        return record

    def create_policy(self, actor: Principal, document: dict[str, Any]) -> PolicyRecord:
        actor.require(Capability.RESPONDER_POLICIES)
        spec = check_policy(document)
        with audited(self.store, actor, "policy.create", spec.name) as tx:
            policies = Policies(tx.session)
            if policies.by_name(spec.name) is not None:
                raise Conflict(f"a policy named {spec.name!r} exists already")
            return policies.add(name=spec.name, document=spec.model_dump(mode="json"))

    def update_policy(
        self, actor: Principal, key: int | str, document: dict[str, Any]
    ) -> PolicyRecord:
        actor.require(Capability.RESPONDER_POLICIES)
        spec = check_policy(document)
        with audited(self.store, actor, "policy.update", spec.name) as tx:
            policies = Policies(tx.session)
            current = self._policy(policies, key)
            if current.builtin and spec.name != current.name:
                raise Invalid(f"name: the built-in policy {current.name!r} cannot be renamed")
            other = policies.by_name(spec.name)
            if other is not None and other.id != current.id:
                raise Conflict(f"a policy named {spec.name!r} exists already")
            updated = policies.update(
                current.id, name=spec.name, document=spec.model_dump(mode="json")
            )
            assert updated is not None
            return updated

    def delete_policy(self, actor: Principal, key: int | str) -> None:
        actor.require(Capability.RESPONDER_POLICIES)
        with self.store.transaction() as tx:
            current = self._policy(Policies(tx.session), key)
        if current.builtin or current.name == DEFAULT_POLICY:
            raise Invalid(f"the built-in policy {current.name!r} cannot be deleted")
        with audited(self.store, actor, "policy.delete", current.name) as tx:
            open_count = Responses(tx.session).open_count(current.id)
            if open_count:
                raise Conflict(
                    f"policy {current.name!r} has {open_count} open responses; close them first"
                )
            Policies(tx.session).delete(current.id)

    # -- responses ----------------------------------------------------------------------

    def list_responses(
        self, actor: Principal, **filters: Unpack[ResponseFilters]
    ) -> list[ResponseRecord]:
        actor.require(Capability.RESPONDER_READ)
        for state in filters.get("states", ()):
            if state not in RESPONSE_STATES:
                raise Invalid(f"state: {state!r} is not one of {', '.join(RESPONSE_STATES)}")
        with self.store.transaction() as tx:
            return Responses(tx.session).list(**filters)

    def count_responses(self, actor: Principal, *, states: Sequence[str] = ()) -> int:
        actor.require(Capability.RESPONDER_READ)
        with self.store.transaction() as tx:
            return Responses(tx.session).count(states=states)

    def get_response(self, actor: Principal, response_id: int) -> ResponseRecord:
        actor.require(Capability.RESPONDER_READ)
        with self.store.transaction() as tx:
            record = Responses(tx.session).get(response_id)
        if record is None:
            raise NotFound(f"no response has id {response_id}")
        return record


def check_policy(document: dict[str, Any]) -> PolicySpec:
    """Parse and compile a policy document; ``Invalid`` names the first broken rule."""
    spec = parse_spec(document)
    compile_policy(spec)
    return spec
