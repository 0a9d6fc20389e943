"""Running one phase of a response: its actions as a dependency graph, independent ones
concurrently, each with its own time limit and retries.

``run_graph`` knows only names, dependencies and conditions; ``attempt_with_retries``
knows only one action's time limit and backoff. The engine supplies the rest (building
the action, recording each attempt), so both parts are tested without a store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from garrison.responder.actions.base import ActionFailed, ActionResult
from garrison.responder.graph import start_order
from garrison.responder.policy import Condition

log = logging.getLogger("garrison.responder")


class Outcome(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        return self in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.SKIPPED)


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    depends_on: str | None
    condition: Condition
    priority: int
    state: Outcome = Outcome.PENDING  # final when a run before a restart finished it


@dataclass(slots=True)
class StepResult:
    outcome: Outcome
    detail: str
    data: Mapping[str, str] = field(default_factory=dict)


def should_run(condition: Condition, dependency: Outcome | None) -> bool:
    """The SMS's conditional execution: always, if the dependency succeeded, if it failed.
    A dependency that was skipped neither succeeded nor failed."""
    if dependency is None or condition is Condition.ALWAYS:
        return True
    if condition is Condition.SUCCEEDED:
        return dependency is Outcome.SUCCEEDED
    return dependency is Outcome.FAILED


async def run_graph(
    steps: Sequence[Step],
    run: Callable[[Step], Awaitable[StepResult]],
    skip: Callable[[Step, str], Awaitable[None]],
) -> dict[str, Outcome]:
    """Run every step whose state is not final once its dependency has finished, if its
    condition holds (else ``skip`` it with the reason). Returns each step's outcome."""
    by_name = {s.name: s for s in steps}
    order = start_order([(s.name, s.depends_on, s.priority) for s in steps])
    done = {name: asyncio.Event() for name in by_name}
    outcomes: dict[str, Outcome] = {}

    async def one(step: Step) -> None:
        try:
            if step.state.final:
                outcomes[step.name] = step.state
                return
            dependency = None
            if step.depends_on is not None:
                await done[step.depends_on].wait()
                dependency = outcomes[step.depends_on]
            if not should_run(step.condition, dependency):
                reason = (
                    f"not run: {step.depends_on} {dependency.value if dependency else ''}, "
                    f"condition is {step.condition.value}"
                )
                await skip(step, reason)
                outcomes[step.name] = Outcome.SKIPPED
                return
            outcomes[step.name] = (await run(step)).outcome
        finally:
            outcomes.setdefault(step.name, Outcome.FAILED)
            done[step.name].set()

    # Tasks start in dependency-then-priority order; independent ones run concurrently.
    await asyncio.gather(*(one(by_name[name]) for name in order))
    return outcomes


async def attempt_with_retries(
    attempt: Callable[[], Awaitable[ActionResult]],
    *,
    time_limit: float,
    retries: int,
    backoff: float,
    before_attempt: Callable[[int], Awaitable[None]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> StepResult:
    """Up to ``1 + retries`` attempts, each cut off after ``time_limit`` seconds; the wait
    before retry n is ``backoff * 2**(n-1)``. An ``ActionFailed(retryable=False)`` ends
    at once. Never raises for the action's failures: they become a FAILED result."""
    reason = ""
    for number in range(1, retries + 2):
        if number > 1:
            await sleep(backoff * 2 ** (number - 2))
        if before_attempt is not None:
            await before_attempt(number)
        try:
            async with asyncio.timeout(time_limit):
                result = await attempt()
            return StepResult(Outcome.SUCCEEDED, result.detail, dict(result.data))
        except TimeoutError:
            reason = f"no result within the time limit of {time_limit:g} s"
        except ActionFailed as exc:
            reason = exc.reason
            if not exc.retryable:
                return StepResult(Outcome.FAILED, f"attempt {number}: {reason}")
        except Exception as exc:  # a bug in an action must not stop the Responder
            log.exception("responder action raised")
            reason = f"internal error: {type(exc).__name__}: {exc}"
    return StepResult(Outcome.FAILED, f"attempt {retries + 1}: {reason}")
