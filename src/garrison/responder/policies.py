"""The policies the engine acts on: read from the store, compiled, and reloaded when they
change (the API tells the engine at once; a change made by another process, such as the
CLI, is seen within seconds)."""

from __future__ import annotations

import logging
from datetime import datetime

from garrison.errors import Invalid
from garrison.responder.policy import (
    DEFAULT_POLICY,
    Initiation,
    Policy,
    compile_policy,
    default_policy_spec,
    parse_spec,
)
from garrison.store import Store
from garrison.store.responder import Policies

log = logging.getLogger("garrison.responder")


class PolicyBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.policies: dict[str, Policy] = {}
        self.broken: dict[str, str] = {}  # stored policies that no longer compile, and why
        self._stamp: tuple[datetime | None, int] = (None, -1)

    def ensure_default(self) -> bool:
        """Create the built-in "Default Response" policy if it is missing (True if it was)."""
        with self.store.transaction() as tx:
            policies = Policies(tx.session)
            if policies.by_name(DEFAULT_POLICY) is not None:
                return False
            spec = default_policy_spec()
            policies.add(name=spec.name, document=spec.model_dump(mode="json"), builtin=True)
            return True

    def load(self) -> None:
        with self.store.transaction() as tx:
            repository = Policies(tx.session)
            records = repository.list()
            stamp = (repository.last_change(), repository.count())
        compiled: dict[str, Policy] = {}
        broken: dict[str, str] = {}
        for record in records:
            try:
                spec = parse_spec(record.document)
                compiled[record.name] = compile_policy(spec, record.id, builtin=record.builtin)
            except Invalid as exc:
                # A stored policy that no longer compiles (an action type removed in an
                # upgrade) is left out and reported; the others keep working.
                broken[record.name] = str(exc)
                log.error("responder: policy %r is not usable: %s", record.name, exc)
        self.policies, self.broken, self._stamp = compiled, broken, stamp

    def changed(self) -> bool:
        with self.store.transaction() as tx:
            repository = Policies(tx.session)
            return (repository.last_change(), repository.count()) != self._stamp

    def escalation_policy(self) -> Policy | None:
        """The policy IPS quarantines escalate to (the SMS advises one at most; with more,
        the first by name)."""
        for name in sorted(self.policies):
            policy = self.policies[name]
            if policy.spec.enabled and policy.allows(Initiation.ESCALATION):
                return policy
        return None

    def external_policy(self, name: str) -> str:
        """The policy an NMS command names, or, as the SMS does when it does not exist, a
        default: the first enabled policy that SNMP traps may invoke, else the built-in
        one (which refuses until an operator allows that)."""
        if name in self.policies:
            return name
        for candidate in sorted(self.policies):
            policy = self.policies[candidate]
            if policy.spec.enabled and policy.allows(Initiation.EXTERNAL):
                return candidate
        return DEFAULT_POLICY
