"""The Responder's action graph as the console draws it (garrison.web.graphs): where each
action goes, the labelled dependencies, both phases, and text that stays text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from garrison.web.graphs import GraphAction, Phase, action_graph, layout

SVG = "{http://www.w3.org/2000/svg}"


def drawn(*phases: Phase) -> ET.Element:
    markup = action_graph(phases, label="Action graph of policy Test")
    return ET.fromstring(str(markup))


def nodes(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-name", ""): g for g in svg.iter(f"{SVG}g") if "node" in g.get("class", "")}


def box(node: ET.Element) -> tuple[float, float]:
    rect = node.find(f"{SVG}rect")
    assert rect is not None
    return float(rect.get("x", "0")), float(rect.get("y", "0"))


def test_dependents_stand_right_of_what_they_depend_on_in_start_order() -> None:
    actions = [
        GraphAction("log", "syslog", priority=200),
        GraphAction("quarantine", "ips-quarantine", priority=10),
        GraphAction("ticket", "web", "quarantine", "succeeded"),
        GraphAction("page", "email", "quarantine", "failed"),
        GraphAction("chat", "web", "ticket"),
    ]
    placed = {p.action.name: p for p in layout(actions)}
    assert {n: p.column for n, p in placed.items()} == {
        "quarantine": 0,
        "log": 0,
        "ticket": 1,
        "page": 1,
        "chat": 2,
    }
    # Lower priority first among the free ones; a parent midway between its children.
    assert placed["quarantine"].row < placed["log"].row
    assert placed["ticket"].row < placed["page"].row
    assert placed["quarantine"].row == (placed["ticket"].row + placed["page"].row) / 2

    svg = drawn(Phase("Initial actions", actions), Phase("Timeout actions", []))
    found = nodes(svg)
    assert set(found) == {"log", "quarantine", "ticket", "page", "chat"}
    assert box(found["ticket"])[0] > box(found["quarantine"])[0]
    assert box(found["chat"])[0] > box(found["ticket"])[0]
    edges = {
        (g.get("data-from"), g.get("data-to")): g
        for g in svg.iter(f"{SVG}g")
        if "edge" in g.get("class", "").split()
    }
    assert set(edges) == {("quarantine", "ticket"), ("quarantine", "page"), ("ticket", "chat")}
    labels = {k: "".join(e.itertext()) for k, e in edges.items()}
    assert labels[("quarantine", "ticket")] == "if it succeeded"
    assert labels[("quarantine", "page")] == "if it failed"
    assert labels[("ticket", "chat")] == "always"
    assert "edge-failed" in edges[("quarantine", "page")].get("class", "")


def test_each_phase_has_its_lane_and_an_empty_one_says_so() -> None:
    svg = drawn(
        Phase("Initial actions", [GraphAction("block", "ips-quarantine")]),
        Phase("Timeout actions", []),
    )
    lanes = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "graph-lane"]
    assert [lane.get("data-phase") for lane in lanes] == ["Initial actions", "Timeout actions"]
    assert "No actions" in "".join(lanes[1].itertext())
    assert "block" in "".join(lanes[0].itertext())
    assert svg.get("role") == "img" and svg.get("aria-label") == "Action graph of policy Test"


def test_text_is_escaped_and_no_inline_style_is_used() -> None:
    evil = '<script>alert("x")</script>'
    markup = str(
        action_graph(
            [Phase("Initial <b>", [GraphAction(evil, "web&co"), GraphAction("b", "x", evil)])],
            label='policy "<i>"',
        )
    )
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup
    assert " style=" not in markup
    svg = ET.fromstring(markup)  # well-formed despite the names
    assert evil in nodes(svg)
    assert "web&co" in "".join(nodes(svg)[evil].itertext())


def test_a_long_name_is_cut_but_kept_whole_in_the_tooltip() -> None:
    name = "quarantine the host on every device of the fleet"
    svg = drawn(Phase("Initial actions", [GraphAction(name, "ips-quarantine")]))
    node = nodes(svg)[name]
    title = node.find(f"{SVG}title")
    assert title is not None and title.text == f"{name} (ips-quarantine)"
    shown = next(t.text or "" for t in node.iter(f"{SVG}text"))
    assert shown.endswith("\u2026") and len(shown) <= 24


def test_broken_graphs_still_draw() -> None:
    """A cycle, an unknown dependency or a duplicate name (never saved, but drawn safely)."""
    actions = [
        GraphAction("a", "web", "b"),
        GraphAction("b", "web", "a"),
        GraphAction("c", "web", "nowhere"),
        GraphAction("c", "email"),
        GraphAction("d", "web", "d"),
    ]
    placed = layout(actions)
    assert sorted(p.action.name for p in placed) == ["a", "b", "c", "d"]
    assert all(p.column == 0 for p in placed)
    assert len({p.row for p in placed}) == 4
    assert set(nodes(drawn(Phase("Initial actions", actions)))) == {"a", "b", "c", "d"}


def test_a_response_colours_each_action_by_its_outcome() -> None:
    svg = drawn(
        Phase(
            "Initial actions",
            [
                GraphAction("block", "ips-quarantine", state="succeeded"),
                GraphAction("mail", "email", "block", "failed", state="skipped"),
            ],
        )
    )
    found = nodes(svg)
    assert "state-succeeded" in found["block"].get("class", "")
    assert "state-skipped" in found["mail"].get("class", "")
    assert "skipped" in "".join(found["mail"].itertext())
