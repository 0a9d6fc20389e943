"""Responder actions, one module each; ``registry`` maps a policy's action kinds to them."""

from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionServices,
    ActionType,
)

__all__ = [
    "ActionConfig",
    "ActionContext",
    "ActionFailed",
    "ActionResult",
    "ActionServices",
    "ActionType",
]
