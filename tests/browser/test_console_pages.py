"""Every console page, in a real browser: each section of the menu and the pages its
content links to load without an error in the browser console (a Content-Security-Policy
violation shows there), fit a 1280x800 screen and a 390x844 phone without scrolling
sideways, name every form field with a label, and send an anonymous visitor to the login
page and back. Each page is photographed at both sizes."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from garrison.web.nav import SECTIONS
from tests.browser.browser_support import (
    NARROW,
    VIEWPORTS,
    WIDE,
    LiveGarrison,
    Tab,
    console_links,
    log_in,
    logged_in_tab,
    open_details,
    open_tab,
    overflow,
    page_kind,
    slug,
    unlabelled_fields,
)

if TYPE_CHECKING:  # the fixtures import playwright once they know it is there
    from playwright.sync_api import Browser

MAX_LINKED = 12  # linked pages followed per section, so the run stays short
SETTLE_MS = 5_000  # how long a page may keep loading live parts before it is judged anyway

pytestmark = pytest.mark.timeout(300)


def seed(garrison: LiveGarrison) -> None:
    """Something on every page to link to: a policy with an open response, and a
    reputation entry (the fleet supplied devices and events)."""
    with garrison.api() as api:
        policy = {
            "name": "Watch list",
            "description": "Opened by hand for the page tests",
            "initiation": ["manual"],
            "timeout_seconds": 3600,
            "initial_actions": [],
        }
        created = api.post("/api/v1/responder/policies", json=policy)
        assert created.status_code == 201, created.text
        opened = api.post(
            "/api/v1/responses",
            json={"policy": "Watch list", "address": "198.51.100.23", "reason": "page tests"},
        )
        assert opened.status_code == 201, opened.text
        entry = api.post("/api/v1/reputation/entries", json={"value": "203.0.113.66"})
        assert entry.status_code == 201, entry.text


@pytest.fixture(scope="module")
def pages(browser: Browser, garrison: LiveGarrison) -> dict[str, list[str]]:
    """Each section's page and the console pages its content links to, one of each kind
    (one device page stands for all), each kind under the first section that links it."""
    seed(garrison)
    found: dict[str, list[str]] = {}
    kinds: set[str] = {page_kind(s.path) for s in SECTIONS}
    with logged_in_tab(browser, garrison.url) as tab:
        for section in SECTIONS:
            tab.goto(section.path)
            found[section.path] = [section.path]
            for link in console_links(tab.page):
                kind = page_kind(link)
                if kind in kinds or len(found[section.path]) > MAX_LINKED:
                    continue
                kinds.add(kind)
                found[section.path].append(link)
    return found


# Each section of the menu, by its name.
SECTION_PARAMS = [pytest.param(s.path, id=s.label.lower()) for s in SECTIONS]


def step_name(path: str) -> str:
    return "page-" + slug(page_kind(path).replace("{id}", "id"))


def settle(tab: Tab) -> None:
    """Let live parts load before the page is judged; a page that keeps fetching is
    judged as it is after SETTLE_MS."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        tab.page.wait_for_load_state("networkidle", timeout=SETTLE_MS)


def judge(tab: Tab, path: str) -> list[str]:
    """What a person would notice wrong on the page at ``path``, in words."""
    problems: list[str] = []
    answer = tab.goto(path)
    if answer is None or answer.status != 200:
        problems.append(f"{path}: answered {answer.status if answer else 'nothing'}")
    if urlsplit(tab.page.url).path == "/login":
        problems.append(f"{path}: went to the login page while logged in")
    settle(tab)
    tab.shoot(step_name(path))
    problems += tab.watch.take()
    problems += [f"{path}: a field without a label: {f}" for f in unlabelled_fields(tab.page)]
    wider = overflow(tab.page)
    if wider:
        problems.append(f"{path}: {wider}px wider than the {tab.viewport} screen")
    elif open_details(tab.page) and (wider := overflow(tab.page)):
        problems.append(
            f"{path}: {wider}px wider than the {tab.viewport} screen with its <details> open"
        )
    return problems


@pytest.mark.parametrize("console_tab", [WIDE, NARROW], indirect=True)
@pytest.mark.parametrize("section", SECTION_PARAMS)
def test_every_page_loads_cleanly_fits_and_labels_its_fields(
    section: str, pages: dict[str, list[str]], console_tab: Tab
) -> None:
    console_tab.watch.take()  # the login page is judged below, anonymously
    problems: list[str] = []
    for path in pages[section]:
        problems += judge(console_tab, path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("section", SECTION_PARAMS)
def test_an_anonymous_visit_goes_to_login_and_back(
    section: str, pages: dict[str, list[str]], browser: Browser, garrison: LiveGarrison
) -> None:
    for path in pages[section]:
        tab = open_tab(browser, garrison.url)
        try:
            tab.goto(path)
            at = urlsplit(tab.page.url)
            assert at.path == "/login", f"an anonymous visit to {path} stayed at {tab.path()}"
            asked = parse_qs(at.query).get("next", ["/"])[0]
            assert asked == path, f"the login page would return to {asked}, not {path}"
            if path == "/":
                for viewport in VIEWPORTS:
                    tab.page.set_viewport_size(VIEWPORTS[viewport])
                    tab.viewport = viewport
                    tab.shoot("login")
                    assert not overflow(tab.page), f"the login page is too wide at {viewport}"
                assert not unlabelled_fields(tab.page)
            log_in(tab)
            assert tab.path() == path, f"logging in from {path} went to {tab.path()}"
            assert not tab.watch.take()
        finally:
            tab.context.close()
