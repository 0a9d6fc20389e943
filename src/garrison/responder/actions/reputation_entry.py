"""The reputation-entry action: put the offending address in Garrison's reputation store,
with tags, so that devices whose profiles have a matching reputation filter block it.

As on the SMS, adds are aggregated by default: the address is queued in the reputation
batcher (``services.reputation``, a `garrison.reputation.batcher.ReputationBatcher`) and
written with the others at its next flush; ``aggregate: false`` writes it at once. A cap
bounds the entries one policy may add (the batcher's default when ``cap`` is not set).
The entry belongs to ``responder:<policy>``: in the timeout phase, with
``remove_on_timeout: true``, the action takes back only its own entry, never one a user
added. Tag values that are text may use the template fields (``{signature}``, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import Field, field_validator
from sqlalchemy.exc import SQLAlchemyError

from garrison.errors import Invalid
from garrison.reputation.batcher import BatcherUnavailable, CapReached, ReputationBatcher
from garrison.reputation.model import TagInput, check_category_name
from garrison.reputation.service import EntryInput
from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionType,
)
from garrison.responder.actions.registry import register
from garrison.responder.templates import render

MAX_TTL = 10 * 365 * 86_400


class ReputationEntryConfig(ActionConfig):
    TEMPLATES: ClassVar[tuple[str, ...]] = ("tags",)

    tags: dict[str, bool | int | str | list[str]] = Field(
        default_factory=dict, description="tag category -> value; text values are templates"
    )
    ttl_seconds: int | None = Field(
        None, ge=1, le=MAX_TTL, description="the entry expires this long after it is added"
    )
    aggregate: bool = Field(True, description="queue for the next batched write (SMS default)")
    cap: int | None = Field(
        None, ge=1, le=10_000_000, description="most entries this policy may have in the store"
    )
    remove_on_timeout: bool = Field(False, description="remove the entry when the response ends")

    @field_validator("tags")
    @classmethod
    def _category_names(
        cls, tags: dict[str, bool | int | str | list[str]]
    ) -> dict[str, bool | int | str | list[str]]:
        checked = {}
        for name, value in tags.items():
            try:
                checked[check_category_name(name)] = value
            except Invalid as exc:
                raise ValueError(str(exc)) from None
        return checked


def _owner(policy: str) -> str:
    return f"responder:{policy}"[:128]


@register
class ReputationEntry(ActionType[ReputationEntryConfig]):
    kind: ClassVar[str] = "reputation-entry"
    title: ClassVar[str] = "add the host's address to the reputation store, with tags"
    config_type: ClassVar[type[ActionConfig]] = ReputationEntryConfig

    async def run(self, context: ActionContext) -> ActionResult:
        batcher: ReputationBatcher | None = self.services.reputation
        if batcher is None:
            raise ActionFailed("this server runs no reputation store", retryable=False)
        if not context.address:
            raise ActionFailed("the response has no IP address to add", retryable=False)
        owner = _owner(context.policy)
        try:
            if context.phase == "timeout":
                return await self._remove(batcher, context.address, owner)
            return await self._add(batcher, context, owner)
        except Invalid as exc:
            raise ActionFailed(
                f"reputation entry for {context.address}: {exc}", retryable=False
            ) from None
        except CapReached as exc:
            raise ActionFailed(str(exc), retryable=False) from None
        except (BatcherUnavailable, SQLAlchemyError) as exc:
            raise ActionFailed(f"reputation store unavailable: {exc}") from None

    async def _add(
        self, batcher: ReputationBatcher, context: ActionContext, owner: str
    ) -> ActionResult:
        config = self.config
        values = context.values()
        tags: dict[str, TagInput] = {
            name: render(value, values) if isinstance(value, str) else value
            for name, value in config.tags.items()
        }
        expires_at = None
        if config.ttl_seconds is not None:
            expires_at = datetime.now(UTC) + timedelta(seconds=config.ttl_seconds)
        item = EntryInput(value=context.address, tags=tags, kind="ip", expires_at=expires_at)
        if config.aggregate:
            state = await batcher.queue(item, owner=owner, cap=config.cap)
            detail = f"queued {context.address} for the reputation store"
            if state == "updated":
                detail = f"{context.address} already queued for the reputation store; tags updated"
            return ActionResult(detail, data={"reputation": "queued", "address": context.address})
        outcome = await batcher.write_now(item, owner=owner, cap=config.cap)
        if outcome.over_cap:
            raise ActionFailed(
                f"{owner} has reached its cap of reputation entries; {context.address} not added",
                retryable=False,
            )
        state = "added" if outcome.added else "updated"
        return ActionResult(
            f"{state} {context.address} in the reputation store",
            data={"reputation": state, "address": context.address},
        )

    async def _remove(self, batcher: ReputationBatcher, address: str, owner: str) -> ActionResult:
        if not self.config.remove_on_timeout:
            return ActionResult(
                f"{address} stays in the reputation store (remove_on_timeout is off)",
                data={"reputation": "kept", "address": address},
            )
        removed = await batcher.remove(address, owner=owner)
        if removed:
            detail = f"removed {address} from the reputation store"
        else:
            detail = f"{address} was not in the reputation store as an entry of this policy"
        return ActionResult(detail, data={"reputation": "removed" if removed else "absent"})
