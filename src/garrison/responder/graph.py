"""A policy's actions as a dependency graph: each action may depend on one other action of
the same list (the SMS's *Dependency* column). Pure: the checks here run before a policy
is saved, and ``start_order`` gives the engine its order."""

from __future__ import annotations

from collections.abc import Sequence

from garrison.errors import Invalid


def check_graph(edges: Sequence[tuple[str, str | None]], where: str) -> None:
    """``edges`` is (action name, the name it depends on or None) in list order. Refuse a
    duplicate name, a dependency on an unknown action or on itself, and a cycle, naming it."""
    names: dict[str, str | None] = {}
    for name, depends_on in edges:
        if name in names:
            raise Invalid(f"{where}: two actions are named {name!r}; names must be unique")
        names[name] = depends_on
    for name, depends_on in names.items():
        if depends_on is None:
            continue
        if depends_on == name:
            raise Invalid(f"{where}.{name}: depends on itself")
        if depends_on not in names:
            raise Invalid(
                f"{where}.{name}: depends on {depends_on!r}, which is not an action of this list"
            )
    for start in names:
        path = [start]
        current = names[start]
        while current is not None:
            if current in path:
                cycle = " -> ".join([*path[path.index(current) :], current])
                raise Invalid(f"{where}: the dependencies form a cycle: {cycle}")
            path.append(current)
            current = names[current]


def start_order(edges: Sequence[tuple[str, str | None, int]]) -> list[str]:
    """Names in an order where every action comes after its dependency, lower priority
    first among those that are free: (name, depends_on, priority) in list order."""
    remaining = {name: (dep, prio, i) for i, (name, dep, prio) in enumerate(edges)}
    done: set[str] = set()
    order: list[str] = []
    while remaining:
        free = [
            (prio, i, name)
            for name, (dep, prio, i) in remaining.items()
            if dep is None or dep in done
        ]
        if not free:  # a cycle; check_graph refuses these before a policy is saved
            raise Invalid("the action dependencies form a cycle")
        _, _, name = min(free)
        order.append(name)
        done.add(name)
        del remaining[name]
    return order
