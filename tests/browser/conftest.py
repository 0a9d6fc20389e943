"""The browser tests' fixtures (defined in browser_support.py beside this file), and the
line at the end of the test run that says where their screenshots are."""

from __future__ import annotations

import pytest

from tests.browser.browser_support import TAKEN, browser, console_tab, garrison, screenshot_dir

__all__ = ["browser", "console_tab", "garrison"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TAKEN:
        where = screenshot_dir()
        terminalreporter.write_sep("-", f"console screenshots: {where} ({len(set(TAKEN))} files)")
