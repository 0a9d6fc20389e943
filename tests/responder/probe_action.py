"""A Responder action for the engine's tests: it records each run and fails, hangs or
succeeds as its settings say. Registered under the kind "probe" (tests only)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionType,
)
from garrison.responder.actions.registry import register

# label -> list of (response id, phase, address) in the order the runs started
RUNS: defaultdict[str, list[tuple[int, str, str]]] = defaultdict(list)
# label -> how many attempts have failed so far (for fail_times)
FAILURES: defaultdict[str, int] = defaultdict(int)


class ProbeConfig(ActionConfig):
    label: str
    fail_times: int = 0  # fail this many attempts, then succeed
    retryable: bool = True
    hang: bool = False
    message: str = "{address} {policy}"
    TEMPLATES = ("message",)


@register
class Probe(ActionType[ProbeConfig]):
    kind = "probe"
    title = "Test probe"
    config_type = ProbeConfig

    async def run(self, context: ActionContext) -> ActionResult:
        RUNS[self.config.label].append((context.response_id, context.phase, context.address))
        if self.config.hang:
            await asyncio.sleep(3600)
        if FAILURES[self.config.label] < self.config.fail_times:
            FAILURES[self.config.label] += 1
            raise ActionFailed(f"{self.config.label} told to fail", retryable=self.config.retryable)
        return ActionResult(f"{self.config.label} ran", {"label": self.config.label})


def probe(name: str, **settings: object) -> dict[str, object]:
    """An action spec of kind probe, labelled by its name unless told otherwise."""
    fields = {k: settings.pop(k) for k in list(settings) if k in SPEC_FIELDS}
    return {
        "name": name,
        "type": "probe",
        "backoff_seconds": 0.01,
        **fields,
        "settings": {"label": name, **settings},
    }


SPEC_FIELDS = {"priority", "depends_on", "condition", "time_limit_seconds", "retries"}


def reset() -> None:
    RUNS.clear()
    FAILURES.clear()
