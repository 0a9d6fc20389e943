"""The Responder engine: opens responses when a trigger passes a policy, runs their
actions, keeps their expiry, closes them (by expiry, by hand, by a Web service or NMS
command) and runs their timeout actions.

Every decision is written to the store before it is acted on: the response and its
pending actions in one transaction when it opens, each attempt as it starts and ends.
After a crash (``kill -9``) ``start()`` takes up what was unfinished: open responses keep
their expiry, those that expired meanwhile close and run their timeout actions, and an
action recorded as succeeded is never run again (one that was running when the process
died runs again: at-least-once, since whether it took effect is unknown).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from garrison.auth import Capability, Principal
from garrison.auth.audit import audited
from garrison.devices.management import ManagementPool, PinStore
from garrison.errors import Conflict, Invalid, NotFound
from garrison.events.bus import Subscription
from garrison.events.model import Action, Event, EventKind
from garrison.ratelog import RateLimitedLog
from garrison.responder.actions.base import (
    ActionContext,
    ActionServices,
    ActionType,
)
from garrison.responder.actions.ips_quarantine import POOL_KEY as MANAGEMENT_POOL
from garrison.responder.actions.registry import build, parse_config
from garrison.responder.addresses import normalize_address, normalize_mac
from garrison.responder.evidence import event_from_json, event_to_json
from garrison.responder.executor import (
    Outcome,
    Step,
    StepResult,
    attempt_with_retries,
    run_graph,
)
from garrison.responder.hosts import QuarantinedHosts
from garrison.responder.nms_commands import QuarantineCommand, UnquarantineCommand
from garrison.responder.policies import PolicyBook
from garrison.responder.policy import (
    ActionSpec,
    Condition,
    Policy,
    Retrigger,
    Trigger,
)
from garrison.responder.threshold import Correlator, Crossing
from garrison.store.responder import NewAction, ResponseActionRecord, ResponseRecord, Responses
from garrison.tls import client_context

log = logging.getLogger("garrison.responder")
T = TypeVar("T")

KEEP_POLICY_TIMEOUT: Any = object()  # open(): use the policy's automatic timeout
POLICY_REFRESH_SECONDS = 5.0  # how soon changes made by another process are seen
# The action an escalation response always ends with, unless its policy releases the
# host on every device itself: "when that response closes, the host is released on
# every device".
RELEASE_EVERYWHERE = ActionSpec(
    name="release-everywhere",
    type="ips-quarantine",
    priority=0,
    settings={"target": "all", "operation": "release"},
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Responder:
    """The component ``garrison serve`` runs; the API, Web services and NMS listener call
    ``open``, ``close``, ``close_host`` and ``extend``."""

    name = "responder"

    def __init__(self, services: Any, *, reputation: Any = None) -> None:
        self.svc = services
        self.store = services.store
        self.settings = services.settings.responder
        self.book = PolicyBook(services.store)
        self.hosts = QuarantinedHosts()
        self.correlator = Correlator(max_evidence=self.settings.max_evidence_events)
        self.action_services = ActionServices(
            settings=services.settings,
            devices=services.devices,
            metrics=services.metrics,
            reputation=reputation,
        )
        # One pool of device management clients for every IPS quarantine action; device
        # certificates are pinned at first contact (see garrison.devices.management).
        settings = services.settings
        self.management = ManagementPool(
            pins=PinStore(settings.tls_dir / "device-pins.json"), tls_profile=settings.tls.profile
        )
        self.action_services.extra[MANAGEMENT_POOL] = self.management
        self.latencies: deque[float] = deque(maxlen=10_000)  # trigger -> first action, s
        self._instances: dict[str, ActionType[Any]] = {}
        self._db: ThreadPoolExecutor | None = None
        self._semaphore = asyncio.Semaphore(self.settings.action_concurrency)
        self._open_lock = asyncio.Lock()
        self._expiry: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []
        self._wake = asyncio.Event()
        self._phases: dict[tuple[int, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._escalating: set[str] = set()
        self._ratelog = RateLimitedLog(log)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._db is None:
            self._db = ThreadPoolExecutor(1, thread_name_prefix="responder-store")
        self.action_services.client_tls = client_context(self.svc.settings.tls.profile)
        await self._store(self.book.ensure_default)
        await self.reload_policies()
        self._subscription = self.svc.bus.subscribe(
            "responder",
            capacity=200_000,
            accepts=lambda e: e.kind is EventKind.ALERT or e.kind is EventKind.QUARANTINE,
        )
        await self._recover()
        self._loops = [
            asyncio.create_task(self._consume(), name="responder-events"),
            asyncio.create_task(self._expire(), name="responder-expiry"),
            asyncio.create_task(self._refresh(), name="responder-policies"),
        ]
        self.svc.responder = self
        log.info(
            "responder: %d policies, %d open responses", len(self.book.policies), len(self.hosts)
        )

    async def stop(self) -> None:
        if getattr(self.svc, "responder", None) is self:
            self.svc.responder = None
        if self._subscription is not None:
            self._subscription.close()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        # Running actions are cut off; their rows say "running" and a restart runs them
        # again, as after a crash.
        pending = [*self._phases.values(), *self._tasks]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for instance in self._instances.values():
            try:
                await instance.close()
            except Exception:
                log.exception("responder: closing action %s", instance.kind)
        self._instances.clear()
        await self.management.close()
        if self._db is not None:
            self._db.shutdown(wait=True)
            self._db = None

    async def reload_policies(self) -> None:
        await self._store(self.book.load)
        self.correlator.load(self.book.policies.values())

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(POLICY_REFRESH_SECONDS)
            try:
                if await self._store(self.book.changed):
                    await self.reload_policies()
            except Exception as exc:
                self._ratelog.warning(
                    "policy-refresh", "responder: reloading policies failed: %r", exc
                )

    async def _recover(self) -> None:
        unfinished = await self._store(self._store_unfinished)
        now = time.time()
        for record in unfinished:
            if record.state == "open":
                self.hosts.add(record.id, record.address, record.mac, record.user)
                if record.trigger == Trigger.ESCALATION:
                    self._escalating.add(record.address)
                if record.expires_at is not None:
                    self._schedule(record.id, record.expires_at.timestamp())
                if any(a.phase == "initial" and not _final(a) for a in record.actions):
                    self._start_phase(record, "initial", trigger_time=None)
            else:  # closing: its timeout actions were under way
                if any(a.phase == "initial" and not _final(a) for a in record.actions):
                    # Closed before its initial actions finished: they run first, as
                    # they would have, and the timeout actions wait for them.
                    self._start_phase(record, "initial", trigger_time=None)
                self._start_phase(record, "timeout", trigger_time=None)
        expired = sum(1 for t in self._expiry.values() if t <= now)
        if unfinished:
            log.info(
                "responder: took up %d unfinished responses (%d expired while stopped)",
                len(unfinished),
                expired,
            )

    async def _store(self, call: Callable[..., T], *args: Any) -> T:
        """Run a store call on the engine's own thread. One thread, so the engine's
        writes never contend with each other for SQLite's lock, and land in order."""
        return await self._store_soon(call, *args)

    def _store_soon(self, call: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._db, self._in_turn, functools.partial(call, *args))

    def _in_turn(self, call: Callable[[], T]) -> T:
        with self.store.write_turn():
            return call()

    def _store_unfinished(self) -> list[ResponseRecord]:
        with self.store.transaction() as tx:
            return Responses(tx.session).unfinished()

    # -- triggers -----------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._subscription is not None
        while True:
            batch = await self._subscription.next_batch(1000)
            if not batch and self._subscription.closed:
                return
            now = time.monotonic()
            for event in batch:
                try:
                    self._observe(event, now)
                except Exception as exc:
                    self._ratelog.warning("observe", "responder: event correlation failed: %r", exc)

    def _observe(self, event: Event, now: float) -> None:
        for crossing in self.correlator.observe(event, now):
            self._spawn(self._open_crossing(crossing, time.perf_counter()))
        if event.action is Action.QUARANTINE and event.src_ip:
            self._escalate(event)

    async def _open_crossing(self, crossing: Crossing, trigger_time: float) -> None:
        policy = crossing.policy
        threshold = policy.spec.threshold
        assert threshold is not None
        reason = (
            f"{threshold.hits} qualified filter hits from {crossing.address} within "
            f"{threshold.period_seconds:g} s"
        )
        try:
            record = await self.open(
                policy=policy.name,
                address=crossing.address,
                trigger=Trigger.THRESHOLD,
                actor=None,
                reason=reason,
                events=crossing.events,
                _trigger_time=trigger_time,
            )
        except (Invalid, Conflict, NotFound) as exc:
            self._ratelog.warning("threshold", "responder: threshold not acted on: %s", exc)
            return
        await self._notify(policy, record, crossing.events)

    def _escalate(self, event: Event) -> None:
        """An IPS quarantined a host: open a network-wide response for it, once per host."""
        policy = self.book.escalation_policy()
        if policy is None or event.src_ip in self._escalating:
            return
        if self.hosts.has_address(event.src_ip):
            # The host is in Active Response already (perhaps the quarantine is this
            # Garrison's own doing): as the SMS does, the escalation is not repeated.
            return
        self._escalating.add(event.src_ip)
        reason = f"IPS quarantine on {event.device_name or event.source_address}"
        self._spawn(self._open_escalation(policy, event, reason, time.perf_counter()))

    async def _open_escalation(
        self, policy: Policy, event: Event, reason: str, trigger_time: float
    ) -> None:
        try:
            await self.open(
                policy=policy.name,
                address=event.src_ip,
                trigger=Trigger.ESCALATION,
                actor=None,
                reason=reason,
                events=(event,),
                _trigger_time=trigger_time,
            )
        except (Invalid, Conflict, NotFound) as exc:
            self._escalating.discard(event.src_ip)
            self._ratelog.warning("escalation", "responder: escalation not acted on: %s", exc)

    async def _notify(
        self, policy: Policy, record: ResponseRecord, events: Sequence[Event]
    ) -> None:
        """The policy's qualified-filter-hit notifications (syslog, SNMP trap)."""
        threshold = policy.spec.threshold
        if threshold is None or not threshold.notifications:
            return
        context = self._context(record, "initial", events)
        for index, note in enumerate(threshold.notifications):
            where = f"{policy.name}.threshold.notifications[{index}]"
            try:
                # Kept with the action instances (reused, closed on stop).
                instance = self._instance(note.type, note.settings, where)
                await asyncio.wait_for(instance.run(context), 30)
            except Exception as exc:
                self._ratelog.warning("notify", "responder: %s failed: %s", where, exc)

    async def handle_nms(self, command: QuarantineCommand | UnquarantineCommand) -> None:
        """An NMS's tptSmsQuarantineCommand or tptSmsUnQuarantineRequest (UDP 162)."""
        if isinstance(command, QuarantineCommand):
            policy = self.book.external_policy(command.policy_name)
            await self.open(
                policy=policy,
                address=command.address,
                trigger=Trigger.NMS_TRAP,
                actor=None,
                reason=f"tptSmsQuarantineCommand from NMS {command.source}",
            )
            return
        reason = f"tptSmsUnQuarantineRequest from NMS {command.source}"
        if command.notify_id is not None:
            await self.close(command.notify_id, actor=None, reason=reason)
        elif command.address:
            await self.close_host(command.address, mac=command.mac or "", actor=None, reason=reason)

    # -- opening ------------------------------------------------------------------------

    async def open(
        self,
        *,
        policy: str,
        address: str,
        trigger: Trigger | str,
        actor: Principal | None,
        mac: str = "",
        user: str = "",
        reason: str = "",
        events: Sequence[Event] = (),
        timeout_seconds: int | Any | None = KEEP_POLICY_TIMEOUT,
        _trigger_time: float | None = None,
    ) -> ResponseRecord:
        """Open a response of ``policy`` for ``address`` (or apply the policy's rule for an
        address that already has one). Raises NotFound, Invalid or Conflict with a message
        that says why."""
        trigger_time = _trigger_time if _trigger_time is not None else time.perf_counter()
        if actor is not None:
            actor.require(Capability.RESPONDER_RESPOND)
        trigger = Trigger(trigger)
        address = normalize_address(address)
        mac = normalize_mac(mac)
        chosen = self.book.policies.get(policy)
        if chosen is None:
            raise NotFound(f"no Responder policy is named {policy!r}")
        if not chosen.allows(trigger.initiation):
            raise Invalid(f"policy {policy!r} does not allow {_INITIATION_WORDS[trigger]}")
        if trigger is Trigger.THRESHOLD and not chosen.spec.enabled:
            raise Invalid(f"policy {policy!r} is disabled")
        refusal = chosen.refusal(address)
        if refusal is not None:
            raise Invalid(refusal)
        if timeout_seconds is KEEP_POLICY_TIMEOUT:
            timeout_seconds = chosen.spec.timeout_seconds
        if timeout_seconds is not None and not 1 <= int(timeout_seconds) <= 3650 * 86400:
            raise Invalid("timeout: must be between 1 second and 10 years")
        retrigger = chosen.spec.retrigger
        if trigger is Trigger.ESCALATION:
            retrigger = Retrigger.IGNORE  # escalation is never repeated for a host
        async with self._open_lock:
            existing = await self._store(self._open_for, chosen.id, address)
            if existing is not None:
                if retrigger is Retrigger.IGNORE:
                    return existing
                if retrigger is Retrigger.EXTEND:
                    if timeout_seconds is None:
                        return existing
                    return await self._extend_locked(
                        existing, utcnow() + timedelta(seconds=int(timeout_seconds)), actor
                    )
                await self._close_locked(existing, actor, "opened anew by a new trigger")
            record = await self._store(
                self._insert,
                chosen,
                address,
                trigger,
                actor,
                mac,
                user,
                reason,
                events,
                timeout_seconds,
            )
            self.hosts.add(record.id, record.address, record.mac, record.user)
            if record.expires_at is not None:
                self._schedule(record.id, record.expires_at.timestamp())
        self._start_phase(record, "initial", trigger_time=trigger_time)
        return record

    def _open_for(self, policy_id: int, address: str) -> ResponseRecord | None:
        with self.store.transaction() as tx:
            return Responses(tx.session).open_for(policy_id, address)

    def _insert(
        self,
        policy: Policy,
        address: str,
        trigger: Trigger,
        actor: Principal | None,
        mac: str,
        user: str,
        reason: str,
        events: Sequence[Event],
        timeout_seconds: int | None,
    ) -> ResponseRecord:
        plan = _plan(policy, trigger)
        actions = [
            NewAction(phase, position, spec["name"], spec["type"])
            for phase in ("initial", "timeout")
            for position, spec in enumerate(plan[phase])
        ]
        now = utcnow()
        fields = {
            "policy_id": policy.id,
            "policy_name": policy.name,
            "address": address,
            "mac": mac,
            "user_name": user[:255],
            "trigger": trigger.value,
            "authority": actor.username if actor is not None else trigger.value,
            "reason": reason,
            "state": "open",
            "host_state": "INITIAL",
            "opened_at": now,
            "expires_at": now + timedelta(seconds=int(timeout_seconds))
            if timeout_seconds is not None
            else None,
        }
        evidence = [event_to_json(e) for e in list(events)[: self.settings.max_evidence_events]]
        with self._change(actor, "response.open", address, policy=policy.name) as tx:
            return self._add(tx, actions, evidence, plan, fields)

    def _add(
        self,
        tx: Any,
        actions: list[NewAction],
        evidence: list[dict[str, Any]],
        plan: dict[str, Any],
        fields: dict[str, Any],
    ) -> ResponseRecord:
        responses = Responses(tx.session)
        # Every open response is in self.hosts: no need to count them in the store.
        if len(self.hosts) >= self.settings.max_open_responses:
            raise Conflict(
                f"{len(self.hosts)} responses are open, "
                "the most [responder] max_open_responses allows"
            )
        cap = self.book.policies[fields["policy_name"]].spec.max_open
        if cap is not None and responses.open_count(fields["policy_id"]) >= cap:
            raise Conflict(
                f"policy {fields['policy_name']!r} already has {cap} open responses, its cap"
            )
        return responses.add(actions=actions, evidence=evidence, plan=plan, **fields)

    # -- closing and extending ----------------------------------------------------------

    async def close(
        self, response_id: int, *, actor: Principal | None, reason: str = "closed by hand"
    ) -> ResponseRecord:
        if actor is not None:
            actor.require(Capability.RESPONDER_RESPOND)
        async with self._open_lock:
            record = await self._store(self._get, response_id)
            if record.state != "open":
                return record
            return await self._close_locked(record, actor, reason)

    async def close_host(
        self, address: str, *, mac: str = "", actor: Principal | None, reason: str
    ) -> list[ResponseRecord]:
        """Close every open response for ``address`` (and ``mac``, when given)."""
        if actor is not None:
            actor.require(Capability.RESPONDER_RESPOND)
        address = normalize_address(address)
        mac = normalize_mac(mac)
        async with self._open_lock:
            found = await self._store(self._open_of_address, address)
            closed = []
            for record in found:
                if mac and record.mac and record.mac != mac:
                    continue
                closed.append(await self._close_locked(record, actor, reason))
        return closed

    def _open_of_address(self, address: str) -> list[ResponseRecord]:
        with self.store.transaction() as tx:
            return Responses(tx.session).list(states=("open",), address=address, limit=None)

    async def _close_locked(
        self, record: ResponseRecord, actor: Principal | None, reason: str
    ) -> ResponseRecord:
        closing = await self._store(self._mark_closing, record.id, actor, reason)
        self._forget(record)
        self._start_phase(closing, "timeout", trigger_time=None)
        return closing

    def _forget(self, record: ResponseRecord) -> None:
        """A response is closing: its host is no longer in Active Response."""
        self.hosts.remove(record.id)
        self._expiry.pop(record.id, None)
        if record.trigger == Trigger.ESCALATION:
            self._escalating.discard(record.address)

    def _mark_closing(
        self, response_id: int, actor: Principal | None, reason: str
    ) -> ResponseRecord:
        fields = {"state": "closing", "close_reason": reason[:255]}
        with self._change(actor, "response.close", str(response_id), reason=reason) as tx:
            record = Responses(tx.session).update(response_id, **fields)
        assert record is not None
        return record

    async def extend(
        self, response_id: int, *, until: datetime, actor: Principal | None
    ) -> ResponseRecord:
        if actor is not None:
            actor.require(Capability.RESPONDER_RESPOND)
        if until.tzinfo is None:
            raise Invalid("until: needs a time zone")
        if until <= utcnow():
            raise Invalid("until: must be in the future")
        async with self._open_lock:
            record = await self._store(self._get, response_id)
            if record.state != "open":
                raise Conflict(f"response {response_id} is {record.state}, not open")
            return await self._extend_locked(record, until, actor)

    async def _extend_locked(
        self, record: ResponseRecord, until: datetime, actor: Principal | None
    ) -> ResponseRecord:
        def write() -> ResponseRecord:
            target = str(record.id)
            with self._change(actor, "response.extend", target, until=until.isoformat()) as tx:
                updated = Responses(tx.session).update(record.id, expires_at=until)
            assert updated is not None
            return updated

        updated = await self._store(write)
        self._schedule(record.id, until.timestamp())
        return updated

    def _change(
        self, actor: Principal | None, action: str, target: str, **detail: Any
    ) -> AbstractContextManager[Any]:
        """An operator's change is audited; the engine's own (expiry, thresholds) are
        recorded in the response history instead."""
        if actor is None:
            return self.store.transaction()
        return audited(self.store, actor, action, target, **detail)

    def _get(self, response_id: int) -> ResponseRecord:
        with self.store.transaction() as tx:
            record = Responses(tx.session).get(response_id)
        if record is None:
            raise NotFound(f"no response has id {response_id}")
        return record

    # -- expiry -------------------------------------------------------------------------

    def _schedule(self, response_id: int, at: float) -> None:
        self._expiry[response_id] = at
        heapq.heappush(self._heap, (at, response_id))
        if self._heap[0] == (at, response_id):
            self._wake.set()

    async def _expire(self) -> None:
        while True:
            self._wake.clear()
            now = time.time()
            due: list[int] = []
            while self._heap and self._heap[0][0] <= now:
                at, response_id = heapq.heappop(self._heap)
                if self._expiry.get(response_id) == at:  # else extended or closed since
                    del self._expiry[response_id]
                    due.append(response_id)
            if due:
                self._spawn(self._close_expired(due))
            delay = self._heap[0][0] - now if self._heap else 3600.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, min(delay, 3600.0)))

    async def _close_expired(self, due: list[int]) -> None:
        """Close what is due together: one transaction marks them all closing."""
        try:
            async with self._open_lock:
                closing = await self._store(self._mark_expired, due)
                for record in closing:
                    self._forget(record)
                    self._start_phase(record, "timeout", trigger_time=None)
        except Exception:
            log.exception("responder: closing %d expired responses", len(due))

    def _mark_expired(self, due: list[int]) -> list[ResponseRecord]:
        with self.store.transaction() as tx:
            return Responses(tx.session).close_many(due, reason="expired")

    # -- running actions ----------------------------------------------------------------

    def _start_phase(
        self, record: ResponseRecord, phase: str, *, trigger_time: float | None
    ) -> None:
        key = (record.id, phase)
        if key in self._phases:
            return
        before = self._phases.get((record.id, "initial")) if phase == "timeout" else None
        task = asyncio.create_task(
            self._run_phase(record, phase, before, trigger_time),
            name=f"response-{record.id}-{phase}",
        )
        self._phases[key] = task
        task.add_done_callback(lambda _t: self._phases.pop(key, None))

    async def _run_phase(
        self,
        record: ResponseRecord,
        phase: str,
        before: asyncio.Task[None] | None,
        trigger_time: float | None,
    ) -> None:
        if before is not None:  # a host is released only after its quarantine has run
            await asyncio.gather(before, return_exceptions=True)
        specs = {s["name"]: ActionSpec.model_validate(s) for s in record.plan.get(phase, [])}
        rows = {a.name: a for a in record.actions if a.phase == phase}
        steps = [
            Step(
                name=name,
                depends_on=spec.depends_on,
                condition=Condition(spec.condition),
                priority=spec.priority,
                state=Outcome(rows[name].state) if name in rows else Outcome.SKIPPED,
            )
            for name, spec in specs.items()
        ]
        earlier: dict[str, dict[str, str]] = {
            f"{a.phase}:{a.name}": a.data for a in record.actions if a.state == "succeeded"
        }
        events = tuple(event_from_json(e) for e in record.evidence)
        first_start = [trigger_time]

        async def run(step: Step) -> StepResult:
            spec = specs[step.name]
            row = rows[step.name]
            try:
                instance = self._instance(spec.type, spec.settings, f"{phase}.{step.name}")
            except Invalid as exc:
                result = StepResult(Outcome.FAILED, str(exc))
                await self._store(self._finish_action, row.id, result)
                return result
            context = self._context(record, phase, events, earlier)
            starts: list[asyncio.Future[None]] = []

            async def before_attempt(number: int) -> None:
                if first_start[0] is not None:
                    self.latencies.append(time.perf_counter() - first_start[0])
                    first_start[0] = None
                # Recorded while the action starts, not before: the store's one thread
                # writes in order, so "running" still lands before the outcome, and a
                # crash before it lands leaves "pending", which a restart runs too.
                starts.append(self._store_soon(self._start_attempt, row.id))

            async with self._semaphore:
                result = await attempt_with_retries(
                    lambda: instance.run(context),
                    time_limit=spec.time_limit_seconds,
                    retries=spec.retries,
                    backoff=spec.backoff_seconds,
                    before_attempt=before_attempt,
                )
            if result.outcome is Outcome.SUCCEEDED:
                earlier[f"{phase}:{step.name}"] = dict(result.data)
            await asyncio.gather(*starts)
            await self._store(self._finish_action, row.id, result)
            self._count(spec.type, result.outcome)
            return result

        async def skip(step: Step, reason: str) -> None:
            result = StepResult(Outcome.SKIPPED, reason)
            await self._store(self._finish_action, rows[step.name].id, result)

        try:
            outcomes = await run_graph(steps, run, skip)
        except Exception:
            log.exception("responder: response %d %s actions", record.id, phase)
            outcomes = {}
        await self._store(self._finish_phase, record.id, phase, outcomes, specs)

    def _instance(self, kind: str, settings: dict[str, Any], where: str) -> ActionType[Any]:
        """One configured action instance per distinct settings, kept for reuse (it may
        hold connections and per-response retry state)."""
        key = json.dumps([kind, settings], sort_keys=True, default=str)
        instance = self._instances.get(key)
        if instance is None:
            config = parse_config(kind, settings, where)
            instance = self._instances[key] = build(kind, config, self.action_services)
        return instance

    def _context(
        self,
        record: ResponseRecord,
        phase: str,
        events: Sequence[Event],
        earlier: dict[str, dict[str, str]] | None = None,
    ) -> ActionContext:
        return ActionContext(
            response_id=record.id,
            policy=record.policy,
            address=record.address,
            phase=phase,
            trigger=record.trigger,
            opened_at=record.opened_at,
            expires_at=record.expires_at,
            mac=record.mac,
            user=record.user,
            notify_id=record.notify_id,
            reason=record.reason,
            events=tuple(events),
            earlier=earlier if earlier is not None else {},
        )

    def _start_attempt(self, action_id: int) -> None:
        with self.store.transaction() as tx:
            Responses(tx.session).start_attempt(action_id, utcnow())

    def _finish_action(self, action_id: int, result: StepResult) -> None:
        with self.store.transaction() as tx:
            Responses(tx.session).set_action(
                action_id,
                state=result.outcome.value,
                detail=result.detail[:4000],
                data=dict(result.data),
                finished_at=utcnow(),
            )

    def _finish_phase(
        self,
        response_id: int,
        phase: str,
        outcomes: dict[str, Outcome],
        specs: dict[str, ActionSpec],
    ) -> None:
        with self.store.transaction() as tx:
            responses = Responses(tx.session)
            if phase == "timeout":
                responses.set(
                    response_id, state="closed", host_state="UNQUARANTINED", closed_at=utcnow()
                )
                return
            responses.set(response_id, host_state=host_state(outcomes, specs))

    def _count(self, kind: str, outcome: Outcome) -> None:
        counter = getattr(self.svc.metrics, "responder_actions", None)
        if counter is not None:
            counter.labels(kind=kind, outcome=outcome.value).inc()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- for tests and the benchmark ----------------------------------------------------

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no action phase or trigger task is running (bounded)."""
        deadline = time.monotonic() + timeout
        while (self._phases or self._tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


def host_state(outcomes: dict[str, Outcome], specs: dict[str, ActionSpec]) -> str:
    """QUARANTINE_HOSTS.STATE after the initial actions: ERROR if the host's quarantine
    failed (an IPS quarantine action, or every action), else QUARANTINED."""
    if not outcomes:
        return "QUARANTINED"
    quarantines = [n for n, s in specs.items() if s.type == "ips-quarantine"]
    if any(outcomes.get(n) is Outcome.FAILED for n in quarantines):
        return "ERROR"
    if all(o is Outcome.FAILED for o in outcomes.values()):
        return "ERROR"
    return "QUARANTINED"


def _plan(policy: Policy, trigger: Trigger) -> dict[str, list[dict[str, Any]]]:
    initial = [a.spec.model_dump(mode="json") for a in policy.initial]
    timeout = [a.spec.model_dump(mode="json") for a in policy.timeout]
    if trigger is Trigger.ESCALATION and not _releases_everywhere(policy):
        names = {a["name"] for a in timeout}
        spec = RELEASE_EVERYWHERE.model_dump(mode="json")
        while spec["name"] in names:
            spec["name"] += "-"
        timeout.append(spec)
    return {"initial": initial, "timeout": timeout}


def _releases_everywhere(policy: Policy) -> bool:
    return any(
        a.spec.type == "ips-quarantine"
        and a.spec.settings.get("target", "all") == "all"
        and a.spec.settings.get("operation", "auto") in ("auto", "release")
        for a in policy.timeout
    )


def _final(action: ResponseActionRecord) -> bool:
    return Outcome(action.state).final


_INITIATION_WORDS = {
    Trigger.THRESHOLD: "threshold correlation",
    Trigger.MANUAL: "manual responses",
    Trigger.WEB_SERVICE: "an SNMP trap or Web service call to invoke it",
    Trigger.NMS_TRAP: "an SNMP trap or Web service call to invoke it",
    Trigger.ESCALATION: "IPS quarantine escalation",
}
