"""A Responder policy's action graph as SVG, drawn on the server.

Each action may depend on one other action of its list, so every phase is a forest: roots
(actions free to start at once) on the left, each action one column right of the action
it depends on, siblings in start order (lower priority first, then list order). Edges are
labelled with their condition. The phases (initial, timeout) are drawn as lanes one under
the other.

Pure: names in, markup out. Every text is escaped here, so the result is `Markup`; the
Content-Security-Policy forbids inline ``style`` attributes, so looks come from classes
(``responder.css``) over plain presentation attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

NODE_W = 190
NODE_H = 46
GAP_X = 120  # room for an edge's condition label
GAP_Y = 18
PAD = 16
LANE_HEADER = 30
MIN_WIDTH = NODE_W + 2 * PAD + 200
NAME_CHARS = 24  # longer names are cut (the full name is in the node's tooltip)

CONDITION_WORDS = {"always": "always", "succeeded": "if it succeeded", "failed": "if it failed"}
EDGE_COLOURS = {"always": "#5b6676", "succeeded": "#1e7d3a", "failed": "#b3261e"}


@dataclass(frozen=True, slots=True)
class GraphAction:
    """One action as the graph needs it; ``state`` is a response's outcome, if any."""

    name: str
    type: str
    depends_on: str | None = None
    condition: str = "always"
    priority: int = 100
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Phase:
    title: str
    actions: Sequence[GraphAction]


@dataclass(frozen=True, slots=True)
class _Placed:
    action: GraphAction
    column: int
    row: float


def _parents(actions: Sequence[GraphAction]) -> dict[str, str | None]:
    """Each action's drawn parent: its dependency, unless that is unknown, itself, or on a
    cycle (a saved policy has none; a drawing must not loop even so)."""
    declared = {a.name: a.depends_on for a in actions}
    parents: dict[str, str | None] = {}
    for name, depends_on in declared.items():
        seen = {name}
        current = depends_on
        while current is not None and current in declared and current not in seen:
            seen.add(current)
            current = declared[current]
        looped = current is not None and current in seen
        parents[name] = depends_on if depends_on in declared and not looped else None
    return parents


def layout(actions: Sequence[GraphAction]) -> list[_Placed]:
    """Columns by depth, rows by a tidy tree walk: a leaf takes the next free row, a parent
    sits midway between its first and last child."""
    by_name: dict[str, GraphAction] = {}
    for action in actions:
        by_name.setdefault(action.name, action)  # a duplicate name is drawn once
    parents = _parents(list(by_name.values()))
    order = {name: (a.priority, i) for i, (name, a) in enumerate(by_name.items())}
    children: dict[str | None, list[str]] = {}
    for name in by_name:
        children.setdefault(parents[name], []).append(name)
    for names in children.values():
        names.sort(key=order.__getitem__)
    placed: dict[str, _Placed] = {}
    next_row = 0

    def place(name: str, column: int) -> float:
        nonlocal next_row
        kids = children.get(name, [])
        if kids:
            rows = [place(kid, column + 1) for kid in kids]
            row = (rows[0] + rows[-1]) / 2
        else:
            row = float(next_row)
            next_row += 1
        placed[name] = _Placed(by_name[name], column, row)
        return row

    for root in children.get(None, []):
        place(root, 0)
    return [placed[name] for name in by_name]


def _node_box(item: _Placed, top: float) -> tuple[float, float]:
    x = PAD + item.column * (NODE_W + GAP_X)
    y = top + LANE_HEADER + item.row * (NODE_H + GAP_Y)
    return x, y


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _lane(phase: Phase, top: float, width: float) -> tuple[list[str], float]:
    """The SVG of one phase's lane, and its height."""
    placed = layout(phase.actions)
    rows = max((p.row for p in placed), default=0) + 1
    height = LANE_HEADER + rows * (NODE_H + GAP_Y) + GAP_Y / 2
    parts = [
        f'<g class="graph-lane" data-phase="{escape(phase.title)}">',
        f'<rect class="lane" x="0" y="{top:g}" width="{width:g}" height="{height:g}" '
        'fill="#f4f6f9" stroke="#d9dee6"/>',
        f'<text class="lane-title" x="{PAD}" y="{top + 20:g}" font-weight="600" '
        f'font-size="13" fill="#1b2330">{escape(phase.title)}</text>',
    ]
    if not placed:
        parts.append(
            f'<text class="lane-empty" x="{PAD}" y="{top + LANE_HEADER + 20:g}" '
            f'font-size="12" font-style="italic" fill="#5b6676">No actions</text>'
        )
    boxes = {p.action.name: _node_box(p, top) for p in placed}
    parts.extend(_edges(placed, boxes))
    for item in placed:
        parts.extend(_node(item, boxes[item.action.name]))
    parts.append("</g>")
    return parts, height


def _edges(placed: Sequence[_Placed], boxes: dict[str, tuple[float, float]]) -> list[str]:
    parents = _parents([p.action for p in placed])
    parts: list[str] = []
    for item in placed:
        parent = parents.get(item.action.name)
        if parent is None:
            continue
        px, py = boxes[parent]
        cx, cy = boxes[item.action.name]
        x1, y1 = px + NODE_W, py + NODE_H / 2
        x2, y2 = cx - 2, cy + NODE_H / 2
        middle = (x1 + x2) / 2
        condition = item.action.condition if item.action.condition in CONDITION_WORDS else "always"
        words = CONDITION_WORDS[condition]
        colour = EDGE_COLOURS[condition]
        # The curve ends level with the child: its label sits on the side the curve
        # does not come from, so the two never cross.
        label_y = y2 + 14 if y2 > y1 else y2 - 6
        parts.append(
            f'<g class="edge edge-{condition}" data-from="{escape(parent)}" '
            f'data-to="{escape(item.action.name)}">'
            f'<path d="M{x1:g} {y1:g} C{middle:g} {y1:g} {middle:g} {y2:g} {x2:g} {y2:g}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5" '
            f'marker-end="url(#graph-arrow-{condition})"/>'
            f'<text class="edge-label" x="{x2 - 8:g}" y="{label_y:g}" '
            f'text-anchor="end" font-size="11" fill="{colour}">{escape(words)}</text>'
            "</g>"
        )
    return parts


def _node(item: _Placed, box: tuple[float, float]) -> list[str]:
    action = item.action
    x, y = box
    state = f" state-{escape(action.state)}" if action.state else ""
    detail = f"{action.type} \u00b7 priority {action.priority}"
    if action.state:
        detail = f"{action.type} \u00b7 {action.state}"
    return [
        f'<g class="node{state}" data-name="{escape(action.name)}">',
        f"<title>{escape(action.name)} ({escape(action.type)})</title>",
        f'<rect x="{x:g}" y="{y:g}" width="{NODE_W}" height="{NODE_H}" rx="6" '
        'fill="#ffffff" stroke="#1f4e79" stroke-width="1.5"/>',
        f'<text class="node-name" x="{x + 10:g}" y="{y + 19:g}" font-size="13" '
        f'font-weight="600" fill="#1b2330">{escape(_cut(action.name, NAME_CHARS))}</text>',
        f'<text class="node-type" x="{x + 10:g}" y="{y + 36:g}" font-size="11" '
        f'fill="#5b6676">{escape(_cut(detail, NAME_CHARS + 6))}</text>',
        "</g>",
    ]


def action_graph(phases: Sequence[Phase], *, label: str) -> Markup:
    """The whole graph: one lane a phase, as an inline ``<svg>`` that scales to its box."""
    columns = 1
    for phase in phases:
        placed = layout(phase.actions)
        columns = max(columns, max((p.column for p in placed), default=0) + 1)
    width = max(MIN_WIDTH, 2 * PAD + columns * NODE_W + (columns - 1) * GAP_X)
    body: list[str] = []
    top = 0.0
    for phase in phases:
        parts, height = _lane(phase, top, width)
        body.extend(parts)
        top += height + 8
    height = max(top - 8, LANE_HEADER)
    markers = "".join(
        f'<marker id="graph-arrow-{condition}" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0 0 L10 5 L0 10 z" fill="{colour}"/></marker>'
        for condition, colour in EDGE_COLOURS.items()
    )
    return Markup(
        f'<svg class="action-graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" '
        f'font-family="system-ui, sans-serif"><title>{escape(label)}</title>'
        f"<defs>{markers}</defs>{''.join(body)}</svg>"
    )
