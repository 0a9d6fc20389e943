"""The rate-limited log: once per interval per key, then how many were held back."""

from __future__ import annotations

import logging

import pytest

from garrison.ratelog import RateLimitedLog


def test_rate_limited_log_warns_once_per_period(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("t"), interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, logger="t"):
        assert limited.warning("timeout", "x %s", 1)
        assert not limited.warning("timeout", "x %s", 2)
        assert limited.warning("auth", "y")  # another reason is news
        now[0] = 61
        assert limited.warning("timeout", "x %s", 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["x 1", "y", "x 3 (and 1 more like it)"]
