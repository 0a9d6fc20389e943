"""What the browser tests share: a live Garrison with an emulated fleet sending it events,
Debian's Chromium driven headless by Playwright, a page logged in through the login form,
a watch on what the browser console reports, and screenshots for the CI run's output.

One server and one fleet per test module keep the run short. Chromium is Debian's
(``/usr/bin/chromium``, launched by path: Playwright's own browser download cannot work
here). Without it the tests skip saying why, except in CI (``CI=true``), where a browser
test that cannot run is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from ipsim.testing import FleetProcess
from tests.support import (
    ADMIN_PASSWORD,
    RunningServer,
    add_fleet_devices,
    make_settings,
    start_server,
    wait_for,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GARRISON_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",  # root in CI, and no user namespaces to sandbox with
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing may leave 127.0.0.0/8: no update checks, no sync, no field trials.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# The two sizes every page must work at, named as the screenshots are.
WIDE = "1280x800"
NARROW = "390x844"
VIEWPORTS: dict[str, dict[str, int]] = {
    WIDE: {"width": 1280, "height": 800},
    NARROW: {"width": 390, "height": 844},
}
STEP_MS = 20_000  # the longest one browser step (a page load, a click's result) may take
LIVE_MS = 45_000  # the longest something that arrives live (an event, a response) may take
FLEET_DEVICES = 2
FLEET_RATE = "3"  # attack events a second per device: live pages, small CPU cost


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401  (only asking whether it is installed)
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[test]')"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        return (
            f"no Chromium at {CHROMIUM}"
            + (f" (one is at {found}: set GARRISON_CHROMIUM)" if found else "")
            + "; install Debian's package: apt-get install chromium (scripts/services.sh does)"
        )
    return None


def require_browser() -> None:
    """Skip when there is no browser; in CI, fail: CI must run these tests."""
    reason = missing_browser()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


# --- screenshots ----------------------------------------------------------------------


def screenshot_dir() -> Path:
    """Where screenshots go: $GARRISON_SCREENSHOTS, or artifacts/screenshots in the repo."""
    configured = os.environ.get("GARRISON_SCREENSHOTS", "").strip()
    where = Path(configured) if configured else REPO / "artifacts" / "screenshots"
    where.mkdir(parents=True, exist_ok=True)
    return where


def slug(text: str) -> str:
    """A file-name-safe step name: /devices/3/edit -> devices-3-edit, / -> dashboard."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words or "dashboard"


# The screenshots this run took, for the line at the end of the test run.
TAKEN: list[Path] = []


def screenshot(page: Page, step: str, viewport: str) -> Path:
    """The whole page as <step>-<viewport>.png in the screenshot directory."""
    path = screenshot_dir() / f"{slug(step)}-{viewport}.png"
    page.screenshot(path=str(path), full_page=True)
    TAKEN.append(path)
    return path


# --- what the browser console says ----------------------------------------------------


@dataclass
class ConsoleWatch:
    """Errors the page reports: console errors (CSP violations and failed loads among
    them) and uncaught exceptions, each with the page it happened on."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "assert"):
                self.problems.append(f"{page.url}: console {message.type}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: uncaught {error}"))

    def take(self) -> list[str]:
        """The problems seen since the last call."""
        seen, self.problems = self.problems, []
        return seen


# --- the live Garrison ----------------------------------------------------------------


@dataclass
class LiveGarrison:
    """A running Garrison (Responder engine included) with an ipsim fleet in its
    inventory, sending it attack events as SNMP traps."""

    server: RunningServer
    fleet: FleetProcess

    @property
    def url(self) -> str:
        return self.server.url()

    def api(self) -> httpx.Client:
        return self.server.admin()


def first_event_stored(api: httpx.Client) -> bool:
    return bool(api.get("/api/v1/events", params={"limit": 1}).json())


def live_garrison(workdir: Path) -> Iterator[LiveGarrison]:
    """Start Garrison, then a fleet that sends it traps, in its inventory and polled;
    yield once events are stored."""
    require_browser()  # before the costly part: no browser, no need for a server
    settings = make_settings(workdir / "data", poller={"interval_seconds": 15})
    servers = start_server(settings)
    server = next(servers)
    try:
        trap_port = server.ports["snmp-trap"]
        with (
            FleetProcess(
                workdir,
                *("--devices", str(FLEET_DEVICES), "--seed", "11", "--rate", FLEET_RATE),
                *("--manager", f"127.0.0.1:{trap_port}", "--transport", "trap"),
            ) as fleet,
            server.admin() as api,
        ):
            add_fleet_devices(api, fleet.devices, management=True)
            # Polled once now, so the pages show each device's health from the start.
            for device in api.get("/api/v1/devices").json():
                polled = api.post(f"/api/v1/devices/{device['id']}/poll")
                assert polled.status_code == 200, polled.text
            wait_for("the fleet's first event stored", lambda: first_event_stored(api))
            yield LiveGarrison(server=server, fleet=fleet)
    finally:
        servers.close()  # stops the server (start_server's finally)


# --- the browser ----------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, under Playwright."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), timeout=STEP_MS
    )


@dataclass
class Tab:
    """One browser tab on the console at one viewport, its console watched."""

    context: BrowserContext
    page: Page
    base: str
    viewport: str
    watch: ConsoleWatch

    def url(self, path: str) -> str:
        return self.base + path

    def goto(self, path: str) -> Any:
        return self.page.goto(self.url(path), wait_until="load")

    def path(self) -> str:
        """Where the tab is: path and query, as the console links them."""
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def shoot(self, step: str) -> Path:
        return screenshot(self.page, step, self.viewport)


def open_tab(browser: Browser, base: str, viewport: str = WIDE) -> Tab:
    """A new tab in a context of its own (no session yet) at ``viewport``."""
    context = browser.new_context(
        viewport=VIEWPORTS[viewport],
        ignore_https_errors=True,  # Garrison's self-signed certificate
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    return Tab(context=context, page=page, base=base, viewport=viewport, watch=watch)


def log_in(tab: Tab, next_path: str = "/") -> None:
    """Log in as the administrator through the login form, as a person does."""
    page = tab.page
    if urlsplit(page.url).path != "/login":
        tab.goto(f"/login?next={quote(next_path, safe='')}")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")


@contextmanager
def logged_in_tab(browser: Browser, base: str, viewport: str = WIDE) -> Iterator[Tab]:
    tab = open_tab(browser, base, viewport)
    try:
        log_in(tab)
        yield tab
    finally:
        tab.context.close()


# --- checks on a page -----------------------------------------------------------------

# Form fields a person fills in that no label names: each must have <label for>, a
# wrapping <label>, aria-label or aria-labelledby. Fields out of sight (in a closed
# <details>, a collapsed menu) count too: a person opens them.
UNLABELLED_FIELDS_JS = """() => {
  const named = (el) => [...(el.labels || [])].some((label) => label.textContent.trim())
    || (el.getAttribute("aria-label") || "").trim() !== ""
    || (el.getAttribute("aria-labelledby") || "").trim().split(/\\s+/)
         .some((id) => id && document.getElementById(id));
  const skip = new Set(["hidden", "submit", "button", "reset", "image"]);
  return [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => !skip.has((el.getAttribute("type") || "").toLowerCase()))
    .filter((el) => !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}"""

PAGE_WIDTH_JS = "() => document.documentElement.scrollWidth"
OPEN_DETAILS_JS = """() => {
  const closed = [...document.querySelectorAll("details:not([open])")];
  closed.forEach((d) => { d.open = true; });
  return closed.length;
}"""


def unlabelled_fields(page: Page) -> list[str]:
    return page.evaluate(UNLABELLED_FIELDS_JS)


def open_details(page: Page) -> int:
    """Open every closed <details> on the page, as a curious person would; how many."""
    return page.evaluate(OPEN_DETAILS_JS)


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0 if it fits)."""
    width = page.evaluate(PAGE_WIDTH_JS)
    return max(0, width - page.viewport_size["width"] - 1) if page.viewport_size else 0


# Links that are not console pages to load: the API, static files, fragments, downloads.
NOT_A_PAGE = re.compile(r"^/(api|static|logout|metrics)(/|$)|/_|\.(csv|json|png|svg)$|/export")


def console_links(page: Page) -> list[str]:
    """The console pages the current page links to in its content (path and query),
    in page order, without repeats."""
    hrefs: list[str] = page.eval_on_selector_all(
        "main a[href]:not([download])", "links => links.map(a => a.getAttribute('href'))"
    )
    seen: list[str] = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if NOT_A_PAGE.search(parts.path):
            continue
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        if local not in seen:
            seen.append(local)
    return seen


def page_kind(path: str) -> str:
    """Pages of one kind share a template: /devices/3 and /devices/7 are one kind, as are
    /events?src=a and /events?src=b."""
    parts = urlsplit(path)
    segments = [
        "{id}" if re.fullmatch(r"[0-9]+|[0-9a-f.:]+[.:][0-9a-f.:]+", s, re.IGNORECASE) else s
        for s in parts.path.split("/")
    ]
    return "/".join(segments)


# --- fixtures (tests/browser/conftest.py makes them visible to the tests) ---------------


@pytest.fixture(scope="module")
def garrison(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGarrison]:
    """One live Garrison and fleet for the whole test module."""
    yield from live_garrison(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture
def console_tab(
    request: pytest.FixtureRequest, browser: Browser, garrison: LiveGarrison
) -> Iterator[Tab]:
    """A tab logged in as the administrator through the login form, at 1280x800 or at
    the viewport given by indirect parametrization (``indirect=["console_tab"]``)."""
    with logged_in_tab(browser, garrison.url, getattr(request, "param", WIDE)) as tab:
        yield tab
