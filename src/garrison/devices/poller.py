"""The poller: reads every device's health over SNMP each interval, keeps the history and
raises a system event on every change of state.

It is one component (``name = "poller"``) on the server's event loop, so it must never
hold the loop: SNMP is asynchronous, at most ``concurrency`` devices are asked at once,
each device has a hard deadline, and every database write runs in a thread, a batch of
samples per transaction.

A device with a management URL is also asked its versions (filter package, TOS) over its
HTTPS management API now and then (`VersionReader`); what it learns rides in the sample's
identity, so it is stored by the same write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from garrison.config.settings import PollerSettings
from garrison.devices import mib
from garrison.devices.health import CpuTicks, DecodeError, Thresholds, assess, summarize
from garrison.devices.management import DeviceManagementClient, PinStore
from garrison.devices.model import DeviceState
from garrison.devices.service import DeviceService
from garrison.devices.snmp_client import PollError, SnmpClient, SnmpTarget
from garrison.events import Event, EventBus, EventKind, Severity
from garrison.metrics import Metrics
from garrison.ratelog import RateLimitedLog
from garrison.store.devices import DeviceRecord, HealthRecord, NewSample, StateChange
from garrison.tls import DEFAULT_PROFILE

if TYPE_CHECKING:
    from garrison.services import Services

log = logging.getLogger("garrison.devices.poller")

WRITE_BATCH = 500  # samples per transaction, at most
FLUSH_SECONDS = 0.5  # how long a finished sample may wait for its batch
PRUNE_EVERY_SECONDS = 3600.0
# Polls start at least this far apart. Without it, when a wave of requests times out
# together, all the freed slots start their next request in one turn of the event loop,
# and that turn (a few milliseconds of SNMP encoding each) delays everything else on it.
START_SPACING_SECONDS = 0.002
PUBLISH_SLICE = 50  # events published per turn of the loop
# Versions change when someone installs a filter package or an OS, rarely: a device's
# management API is asked at most this often, whatever the poll interval.
VERSIONS_EVERY_SECONDS = 300.0
VERSIONS_TIMEOUT_SECONDS = 5.0  # the whole status call, TLS handshakes included
SEVERITY_OF = {
    DeviceState.UNREACHABLE: Severity.MAJOR,
    DeviceState.DEGRADED: Severity.MINOR,
    DeviceState.REACHABLE: Severity.LOW,
    DeviceState.UNKNOWN: Severity.LOW,
}


def thresholds_of(settings: PollerSettings) -> Thresholds:
    return Thresholds(
        cpu_percent=settings.cpu_degraded_percent,
        memory_percent=settings.memory_degraded_percent,
        interfaces=settings.degrade_on_link_down,
    )


def state_event(change: StateChange) -> Event:
    """The system event for one change of state."""
    device, state = change.device, DeviceState(change.device.state)
    why = f": {device.state_reason}" if device.state_reason else ""
    return Event(
        kind=EventKind.SYSTEM,
        collector="poller",
        source_address=device.address,
        received_at=change.sample.at,
        severity=SEVERITY_OF[state],
        device_id=device.id,
        device_name=device.name,
        name=f"device {state}",
        message=f"device {device.name} ({device.address}) is {state}, was {change.previous}{why}",
        extra={"previous_state": change.previous, "state": str(state)},
    )


def learned_versions(
    status: dict[str, Any], device: DeviceRecord, identity: dict[str, str]
) -> dict[str, str]:
    """The identity fields a management status teaches about ``device``: its filter
    package version when it changed, and its TOS version as ``os_version`` only when
    neither the record nor this poll's SNMP answer has one (SNMP's entPhysicalSoftwareRev
    stays the source of record)."""
    versions = status.get("versions")
    if not isinstance(versions, dict):
        return {}
    learned: dict[str, str] = {}
    package = versions.get("filter_package")
    if isinstance(package, str) and package.strip() != device.filter_package_version:
        learned["filter_package_version"] = package.strip()
    tos = versions.get("tos")
    if isinstance(tos, str) and not device.os_version and not identity.get("os_version"):
        learned["os_version"] = tos.strip()
    return {name: value for name, value in learned.items() if value}


class VersionReader:
    """Asks a device's management API for its versions, at most every ``every`` seconds
    per device (and at once when its management URL changed), within ``timeout``.

    A failure is logged at debug and costs the poll nothing: the management API is an
    extra, and an unreachable device is already news through its SNMP health. A client is
    made for each call and closed after it, so a large fleet holds no idle TLS connections
    between calls (one call per device every few minutes; the handshake is cheap).
    """

    def __init__(
        self,
        *,
        pins: PinStore | None = None,
        tls_profile: str = DEFAULT_PROFILE,
        every: float = VERSIONS_EVERY_SECONDS,
        timeout: float = VERSIONS_TIMEOUT_SECONDS,
    ) -> None:
        self.pins = pins
        self.tls_profile = tls_profile
        self.every = every
        self.timeout = timeout
        self._asked: dict[int, tuple[str, float]] = {}  # device id -> (URL, monotonic time)

    def due(self, device: DeviceRecord) -> bool:
        if not device.mgmt_url:
            return False
        last = self._asked.get(device.id)
        if last is None or last[0] != device.mgmt_url:
            return True
        return time.monotonic() - last[1] >= self.every

    async def learn(self, device: DeviceRecord, sample: NewSample) -> NewSample:
        """``sample`` with what the device's status teaches added to its identity; the
        sample as it was when the device is down, not due, or does not answer."""
        if not sample.reachable or not self.due(device):
            return sample
        # Stamped before asking: a device whose API is down is asked again in `every`.
        self._asked[device.id] = (device.mgmt_url, time.monotonic())
        try:
            async with asyncio.timeout(self.timeout):
                status = await self._status(device)
        except Exception as exc:  # ManagementError, a timeout, or a surprise: all the same
            log.debug("no versions from %s's management API: %s", device.name, exc)
            return sample
        learned = learned_versions(status, device, sample.identity)
        if not learned:
            return sample
        return replace(sample, identity={**sample.identity, **learned})

    async def _status(self, device: DeviceRecord) -> dict[str, Any]:
        async with DeviceManagementClient(
            device.mgmt_url,
            secret=device.mgmt_secret,
            username=device.mgmt_username,
            pins=self.pins,
            tls_profile=self.tls_profile,
            timeout=self.timeout,
        ) as client:
            return await client.status()


class DevicePoller:
    name = "poller"

    def __init__(
        self,
        devices: DeviceService,
        settings: PollerSettings,
        *,
        bus: EventBus,
        metrics: Metrics,
        client: SnmpClient | None = None,
        versions: VersionReader | None = None,
    ) -> None:
        self.devices = devices
        self.settings = settings
        self.bus = bus
        self.metrics = metrics
        self.thresholds = thresholds_of(settings)
        self.client = client or SnmpClient(
            timeout=settings.timeout_seconds, retries=settings.retries
        )
        self.versions = versions or VersionReader()
        self.rounds = 0
        self._cpu_ticks: dict[int, CpuTicks] = {}
        # A device that stays down is news once every five minutes, not every poll.
        self._failures = RateLimitedLog(log, interval=300.0)
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0
        self._write_lock = asyncio.Lock()
        self._next_start = 0.0

    async def _start_slot(self) -> None:
        """Wait for this poll's turn to start (see START_SPACING_SECONDS)."""
        now = time.monotonic()
        slot = max(now, self._next_start)
        self._next_start = slot + START_SPACING_SECONDS
        await asyncio.sleep(slot - now)

    @classmethod
    def of(cls, svc: Services) -> DevicePoller:
        """The poller of a process's services, with its settings, bus and metrics; device
        certificates pinned in the pin store the Responder uses."""
        settings = svc.settings
        versions = VersionReader(
            pins=PinStore(settings.tls_dir / "device-pins.json"),
            tls_profile=settings.tls.profile,
        )
        return cls(
            svc.devices, settings.poller, bus=svc.bus, metrics=svc.metrics, versions=versions
        )

    # -- component ------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.devices.refresh_directory)
        self._task = asyncio.create_task(self._run(), name="device-poller")
        log.info(
            "polling devices every %gs, %d at a time",
            self.settings.interval_seconds,
            self.settings.concurrency,
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.client.close()

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.poll_all()
                await self._prune_now_and_then()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad round must not end polling for good
                log.exception("a polling round failed; the next one runs as planned")
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.settings.interval_seconds - elapsed))

    async def _prune_now_and_then(self) -> None:
        now = time.monotonic()
        if self._last_prune and now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        removed = await asyncio.to_thread(self.devices.prune_history, self.settings.history_days)
        if removed:
            log.info(
                "removed %d health samples older than %d days", removed, self.settings.history_days
            )

    # -- polling ------------------------------------------------------------------------

    async def poll_all(self) -> list[NewSample]:
        """Poll every device once, write the samples in batches, publish the changes."""
        devices = await asyncio.to_thread(self.devices.all_devices)
        gate = asyncio.Semaphore(self.settings.concurrency)
        pending: list[NewSample] = []
        done = asyncio.Event()

        async def one(device: DeviceRecord) -> NewSample:
            async with gate:
                await self._start_slot()
                sample = await self.sample(device)
            pending.append(sample)
            return sample

        async def writer() -> None:
            while not done.is_set() or pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), FLUSH_SECONDS)
                while pending:
                    batch = pending[:WRITE_BATCH]
                    del pending[: len(batch)]
                    try:
                        await self.write(batch)
                    except Exception:  # the database is away: lose this batch, not the round
                        log.exception("could not store %d health samples", len(batch))

        writing = asyncio.create_task(writer())
        try:
            samples = await asyncio.gather(*(one(d) for d in devices))
        finally:
            done.set()
            await writing
        self.rounds += 1
        await self._count_states()
        return list(samples)

    async def poll_device(self, device: DeviceRecord) -> HealthRecord:
        """Poll one device now (the API's and CLI's "poll"), record and publish it."""
        sample = await self.sample(device)
        await self.write([sample])
        found = await asyncio.to_thread(self.devices.last_sample, device.id)
        if found is None:  # the device was deleted while we asked it
            raise LookupError(f"device {device.id} no longer exists")
        await self._count_states()
        return found

    async def write(self, samples: Sequence[NewSample]) -> list[StateChange]:
        """One transaction for the batch, in a thread; then the events, on the loop."""
        async with self._write_lock:
            changes = await asyncio.to_thread(self.devices.record_samples, samples)
        await self._publish(changes)
        return changes

    async def _publish(self, changes: Iterable[StateChange]) -> None:
        for count, change in enumerate(changes, 1):
            if count % PUBLISH_SLICE == 0:  # a fleet-wide change: let others run between
                await asyncio.sleep(0)
            event = state_event(change)
            # Info, not warning: the event is the alert; a fleet-wide outage must not
            # become a wall of warnings.
            log.info("%s", event.message)
            self.bus.publish(event)

    async def _count_states(self) -> None:
        counts = await asyncio.to_thread(self.devices.count_by_state)
        for state in DeviceState:
            self.metrics.devices_by_state.labels(str(state)).set(counts.get(str(state), 0))

    async def sample(self, device: DeviceRecord) -> NewSample:
        """Ask one device and judge its answer, now and then also its versions; never
        raises for a device's fault."""
        return await self.versions.learn(device, await self._health(device))

    async def _health(self, device: DeviceRecord) -> NewSample:
        """The SNMP health poll of one device, timed and counted."""
        started = time.perf_counter()
        # A hard deadline: the GET, then a few GETBULK rounds, each with its own timeout.
        budget = self.settings.timeout_seconds * (self.settings.retries + 1) * 4 + 1.0
        try:
            async with asyncio.timeout(budget):
                return await self._read(device, started)
        except (PollError, TimeoutError, DecodeError) as exc:
            reason = (
                exc.reason
                if isinstance(exc, PollError)
                else ("decode" if isinstance(exc, DecodeError) else "timeout")
            )
            message = str(exc) or f"no complete answer within {budget:g}s"
            return self._failed(device, reason, message)
        except Exception as exc:  # a pysnmp surprise is the device's failure, not ours
            return self._failed(device, "error", f"{type(exc).__name__}: {exc}")
        finally:
            self.metrics.device_polls.inc()
            self.metrics.device_poll_duration.observe(time.perf_counter() - started)

    async def _read(self, device: DeviceRecord, started: float) -> NewSample:
        target = SnmpTarget.of(device)
        scalars = await self.client.get(target, mib.SCALARS)
        rtt_ms = (time.perf_counter() - started) * 1000.0
        columns = await self.client.walk_columns(target, mib.COLUMNS)
        health = summarize(scalars, columns, self._cpu_ticks.get(device.id))
        if health.cpu_ticks is not None:
            self._cpu_ticks[device.id] = health.cpu_ticks
        state, reason = assess(health, self.thresholds)
        return NewSample(
            device_id=device.id,
            at=datetime.now(UTC),
            reachable=True,
            state=str(state),
            reason=reason,
            rtt_ms=round(rtt_ms, 2),
            cpu_percent=health.cpu_percent,
            memory_percent=health.memory_percent,
            uptime_seconds=health.uptime_seconds,
            if_up=health.if_up,
            if_down=health.if_down,
            trha_state=health.trha_state,
            identity=health.identity,
        )

    def _failed(self, device: DeviceRecord, reason: str, message: str) -> NewSample:
        self.metrics.device_poll_failures.labels(reason).inc()
        # One warning per reason per quiet period, whatever the number of devices.
        self._failures.warning(
            reason,
            "poll of %s (%s) failed (%s): %s",
            device.name,
            device.address,
            reason,
            message,
        )
        self._cpu_ticks.pop(device.id, None)
        return NewSample(
            device_id=device.id,
            at=datetime.now(UTC),
            reachable=False,
            state=str(DeviceState.UNREACHABLE),
            reason=f"{reason}: {message}"[:255],
        )
