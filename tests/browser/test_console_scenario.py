"""The console's story, in a real browser, as an operator lives it: log in through the
form; watch an event from the emulated fleet arrive live; narrow the events by severity;
write a threshold policy whose second action depends on the first succeeding; watch the
fleet's attack traffic open a response, both actions reaching their peers; close it; and
find all of it in the audit log. Each step is photographed (scenario-NN-<step>-<size>.png).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import httpx
import pytest

from tests.browser.action_peers import Peer, syslog_receiver, web_hook
from tests.browser.browser_support import (
    LIVE_MS,
    NARROW,
    VIEWPORTS,
    LiveGarrison,
    Tab,
    log_in,
    open_tab,
    screenshot,
)
from tests.support import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

POLICY = "Stop noisy scanners"
FIRST, SECOND = "tell the SIEM", "open a ticket"
LOW_SEVERITIES = {"low", "minor"}
BOTH_SUCCEEDED = {FIRST: "succeeded", SECOND: "succeeded"}

Presence = Literal["attached", "detached", "visible", "hidden"]

pytestmark = pytest.mark.timeout(300)


class Story:
    """The tab the story happens in, numbering its screenshots in order."""

    def __init__(self, tab: Tab) -> None:
        self.tab = tab
        self.page: Page = tab.page
        self.step = 0

    def shoot(self, name: str) -> None:
        """The page as it is now, on the wide screen and on the phone."""
        self.step += 1
        step = f"scenario-{self.step:02d}-{name}"
        self.tab.shoot(step)
        self.page.set_viewport_size(VIEWPORTS[NARROW])
        screenshot(self.page, step, NARROW)
        self.page.set_viewport_size(VIEWPORTS[self.tab.viewport])

    def menu(self, section: str) -> None:
        """Go to a section through the menu, as a person does."""
        menu = self.page.get_by_role("navigation", name="Sections")
        follow(menu.get_by_role("link", name=section, exact=True))

    def responder_tab(self, name: str) -> None:
        tabs = self.page.get_by_role("navigation", name="Responder")
        follow(tabs.get_by_role("link", name=name, exact=True))

    def wait_until(self, what: str, locator: Locator, state: Presence = "visible") -> None:
        """Wait for something that arrives live, failing with what did not happen."""
        with self._bounded(what):
            locator.wait_for(state=state, timeout=LIVE_MS)

    def wait_in_page(self, what: str, predicate: str, arg: Any) -> None:
        """Wait until the JavaScript ``predicate`` holds in the page."""
        with self._bounded(what):
            self.page.wait_for_function(predicate, arg=arg, timeout=LIVE_MS)

    @contextmanager
    def _bounded(self, what: str) -> Iterator[None]:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            yield
        except PlaywrightTimeout:
            raise AssertionError(f"not within {LIVE_MS // 1000} s: {what}") from None


@pytest.fixture(scope="module")
def siem() -> Iterator[Peer]:
    with syslog_receiver() as peer:
        yield peer


@pytest.fixture(scope="module")
def ticketing() -> Iterator[Peer]:
    with web_hook() as peer:
        yield peer


def follow(target: Locator) -> None:
    """Click a link or a form's button and wait for the page it leads to."""
    with target.page.expect_navigation(wait_until="load"):
        target.click()


def event_ids(locator: Locator) -> list[int]:
    return [int(i) for i in locator.evaluate_all("rows => rows.map(r => r.dataset.eventId)")]


def severities(page: Page, table: str) -> set[str]:
    badges = page.locator(f"{table} tbody tr[data-event-id] .badge")
    return {text.strip().lower() for text in badges.all_inner_texts()}


def action_states(api: httpx.Client, response_id: int) -> dict[str, str]:
    response = api.get(f"/api/v1/responses/{response_id}").json()
    return {a["name"]: a["state"] for a in response["actions"]}


def test_an_operator_watches_an_attack_open_a_response_and_closes_it(
    browser: Browser, garrison: LiveGarrison, siem: Peer, ticketing: Peer
) -> None:
    tab = open_tab(browser, garrison.url)
    story = Story(tab)
    page = story.page
    try:
        # 1. Log in through the form; an anonymous visit is sent there first.
        tab.goto("/")
        assert tab.path().startswith("/login"), f"an anonymous visitor saw {tab.path()}"
        story.shoot("login")
        log_in(tab)
        assert tab.path() == "/"
        story.shoot("dashboard")

        # 2. An event from the fleet arrives live in the events page's tail.
        story.menu("Events")
        live_rows = page.locator("#live-events [data-event-id]")
        seen = max(event_ids(live_rows), default=0)
        story.wait_in_page(
            "a new event from the fleet in the live tail",
            "seen => [...document.querySelectorAll('#live-events [data-event-id]')]"
            ".some(row => Number(row.dataset.eventId) > seen)",
            seen,
        )
        fresh = max(event_ids(live_rows))
        with garrison.api() as api:
            event = api.get(f"/api/v1/events/{fresh}").json()
        fleet_names = {d["name"] for d in garrison.fleet.devices}
        assert event["device_name"] in fleet_names, f"event {fresh} is not the fleet's: {event}"
        story.shoot("events-live")

        # 3. Filter by severity: the results narrow to major and critical events.
        wait_for(
            "a low or minor event among the results",
            lambda: (page.reload(), LOW_SEVERITIES & severities(page, "#results"))[1],
        )
        page.get_by_label("Lowest severity").select_option(label="major and above")
        follow(page.get_by_role("button", name="Search", exact=True))
        shown = severities(page, "#results")
        assert shown, "no major or critical event in the results"
        assert not shown & LOW_SEVERITIES, f"the filtered results still show {shown}"
        story.shoot("events-filtered")

        # 4. A threshold policy with two actions, the second only if the first succeeded.
        story.menu("Responder")
        follow(page.get_by_role("link", name="New policy"))
        write_policy(page, siem, ticketing)
        story.shoot("policy-editor")
        follow(page.get_by_role("button", name="Save policy"))
        saved = page.get_by_role("status").filter(has_text="Policy saved.")
        assert saved.is_visible(), f"the policy was not saved: {page.locator('main').inner_text()}"
        graph = page.locator(".graph-wrap svg").text_content() or ""
        assert FIRST in graph and SECOND in graph and "if it succeeded" in graph, graph
        story.shoot("policy-saved")

        # 5. The fleet's traffic crosses the threshold: a response opens, live.
        story.responder_tab("Responses")
        row = page.locator("#open-responses tr[data-response-id]", has_text=POLICY).first
        story.wait_until("a response of the new policy in the open responses", row)
        response_id = int(row.get_attribute("data-response-id") or 0)
        address = row.locator(".address").inner_text().strip()
        story.shoot("response-open")
        with garrison.api() as api:
            wait_for(
                "both actions to succeed",
                lambda: action_states(api, response_id) == BOTH_SUCCEEDED,
            )
        lines = siem.received.all()
        assert any(f'response="{response_id}"' in line for line in lines), f"syslog got {lines}"
        assert any(address in path for path in ticketing.received.all()), ticketing.received.all()
        follow(row.get_by_role("link", name=str(response_id)))
        for action in (FIRST, SECOND):
            result = page.locator(f".actions-initial tr[data-action='{action}']")
            assert "succeeded" in result.inner_text(), f"{action}: {result.inner_text()}"
        story.shoot("response-detail")

        # 6. Close it; it leaves the open responses, its history says why.
        asked: list[str] = []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        follow(page.get_by_role("button", name="Close", exact=True))
        assert asked and address in asked[0], f"no confirmation asked: {asked}"
        story.responder_tab("Responses")
        gone = page.locator(f"#open-responses tr[data-response-id='{response_id}']")
        story.wait_until(f"response {response_id} gone from the open responses", gone, "detached")
        closed = page.locator(f"#response-history tr[data-response-id='{response_id}']")
        story.wait_until(f"response {response_id} in the history", closed)
        story.shoot("response-closed")

        # 7. The audit log shows the login, the new policy and the close.
        story.menu("Administration")
        follow(page.get_by_role("link", name="Audit log"))
        entries = [
            tuple(cell.strip() for cell in entry.locator("td").all_inner_texts())
            for entry in page.locator("#audit tbody tr").all()
        ]
        assert any(e[1:3] == ("admin", "login") for e in entries), entries
        assert any(e[2:4] == ("policy.create", POLICY) for e in entries), entries
        assert any(e[2:4] == ("response.close", str(response_id)) for e in entries), entries
        story.shoot("audit-log")
        assert not tab.watch.take(), "the browser console reported errors"
    except BaseException:
        with contextlib.suppress(Exception):  # what the page showed when the story stopped
            story.shoot(f"failed-at-{tab.path()}")
        raise
    finally:
        tab.context.close()


def write_policy(page: Page, siem: Peer, ticketing: Peer) -> None:
    """Fill in the policy editor as an operator would."""
    about = page.get_by_role("group", name="Policy", exact=True)
    about.get_by_role("textbox", name="Name", exact=True).fill(POLICY)
    about.get_by_label("Threshold: qualified filter hits from one address").check()
    page.get_by_label("Qualified hits", exact=True).fill("5")
    page.get_by_label("Period (seconds)", exact=True).fill("120")
    page.get_by_label("Quiet period (seconds)", exact=True).fill("3600")
    page.get_by_label("Most open responses", exact=True).fill("1")
    actions = page.locator("#initial-actions fieldset.action-row")
    fill_action(
        actions.nth(0),
        FIRST,
        "syslog",
        {"host": "127.0.0.1", "port": siem.port, "transport": "udp"},
    )
    if actions.count() < 2:
        follow(page.get_by_role("button", name="Add another initial action"))
    fill_action(
        actions.nth(1),
        SECOND,
        "web",
        {"url": f"http://127.0.0.1:{ticketing.port}/tickets?address={{address}}"},
        depends_on=FIRST,
    )


def fill_action(
    row: Locator,
    name: str,
    kind: str,
    settings: dict[str, Any],
    depends_on: str | None = None,
) -> None:
    row.get_by_label("Name", exact=True).fill(name)
    row.get_by_label("Type", exact=True).select_option(kind)
    if depends_on:
        row.get_by_label("Depends on").select_option(depends_on)
        row.get_by_label("Condition").select_option(label="If it succeeded")
    row.get_by_label("Settings (JSON)").fill(json.dumps(settings))
