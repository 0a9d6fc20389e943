"""Threshold correlation over the event stream (pure, no I/O): a policy fires for a
source address when that address makes ``hits`` qualified filter hits within
``period_seconds``; after firing, the address is quiet for ``quiet_seconds`` (no new
threshold period starts). Memory is bounded: each policy tracks at most
``max_addresses`` sources, dropping the least recently seen.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from garrison.events.model import Event, EventKind
from garrison.responder.policy import Initiation, Policy

DEFAULT_MAX_ADDRESSES = 100_000


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold crossed: open a response of ``policy`` for ``address``."""

    policy: Policy
    address: str
    events: tuple[Event, ...]


@dataclass
class _Track:
    times: deque[float] = field(default_factory=deque)
    evidence: deque[Event] = field(default_factory=deque)
    quiet_until: float = 0.0


class PolicyCounter:
    """One policy's counts per source address."""

    def __init__(self, policy: Policy, max_addresses: int, max_evidence: int) -> None:
        assert policy.spec.threshold is not None and policy.qualifies is not None
        self.policy = policy
        self.hits = policy.spec.threshold.hits
        self.period = policy.spec.threshold.period_seconds
        self.quiet = policy.spec.threshold.quiet_seconds
        self.qualifies = policy.qualifies
        self.max_addresses = max_addresses
        self.max_evidence = max_evidence
        self.tracks: OrderedDict[str, _Track] = OrderedDict()

    def observe(self, event: Event, now: float) -> Crossing | None:
        address = event.src_ip
        if not address or not self.qualifies.matches(event):
            return None
        track = self.tracks.get(address)
        if track is None:
            track = self.tracks[address] = _Track()
            if len(self.tracks) > self.max_addresses:
                self.tracks.popitem(last=False)
        else:
            self.tracks.move_to_end(address)
        if now < track.quiet_until:
            return None
        horizon = now - self.period
        while track.times and track.times[0] <= horizon:
            track.times.popleft()
        # An aggregated alert counts its hits (the device folds repeats into hit_count).
        for _ in range(min(max(event.hit_count, 1), self.hits)):
            track.times.append(now)
        track.evidence.append(event)
        while len(track.evidence) > self.max_evidence:
            track.evidence.popleft()
        if len(track.times) < self.hits:
            return None
        crossing = Crossing(self.policy, address, tuple(track.evidence))
        track.times.clear()
        track.evidence.clear()
        track.quiet_until = now + self.quiet
        return crossing


class Correlator:
    """Every threshold policy's counters; rebuilt when the policies change (counts of
    policies whose threshold did not change are kept)."""

    def __init__(
        self, *, max_addresses: int = DEFAULT_MAX_ADDRESSES, max_evidence: int = 20
    ) -> None:
        self.max_addresses = max_addresses
        self.max_evidence = max_evidence
        self.counters: dict[str, PolicyCounter] = {}

    def load(self, policies: Iterable[Policy]) -> None:
        counters: dict[str, PolicyCounter] = {}
        for policy in policies:
            if not (policy.spec.enabled and policy.allows(Initiation.THRESHOLD)):
                continue
            old = self.counters.get(policy.name)
            if old is not None and old.policy.spec.threshold == policy.spec.threshold:
                old.policy = policy
                counters[policy.name] = old
            else:
                counters[policy.name] = PolicyCounter(policy, self.max_addresses, self.max_evidence)
        self.counters = counters

    def observe(self, event: Event, now: float) -> list[Crossing]:
        if event.kind is not EventKind.ALERT or not self.counters:
            return []
        crossings = []
        for counter in self.counters.values():
            crossing = counter.observe(event, now)
            if crossing is not None:
                crossings.append(crossing)
        return crossings
