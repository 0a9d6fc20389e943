"""Errors services raise; the API and CLI turn each kind into one clear answer."""

from __future__ import annotations


class GarrisonError(Exception):
    """Base of the errors a user is meant to read."""


class NotFound(GarrisonError):
    pass


class Conflict(GarrisonError):
    pass


class Invalid(GarrisonError):
    """The request is well-formed but breaks a rule (a weak password, a bad value)."""


class Unauthorized(GarrisonError):
    """No valid credentials."""


class Forbidden(GarrisonError):
    """Valid credentials without the right to do this."""
