"""The deployment graph of a plan (Mermaid or DOT, components as clusters) and its critical path."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

from components.catalog.durations import DEFAULT_MINUTES, TYPICAL_MINUTES


def _top_component(r: dict, by_urn: dict[str, dict]) -> str:
    """The outermost component below the stack that contains `r` (or `r` itself)."""
    current = r
    while current.get("parent") in by_urn:
        current = by_urn[current["parent"]]
    return current["urn"]


def _id(urn: str) -> str:
    digest = hashlib.sha256(urn.encode()).hexdigest()[:6]
    return "n" + re.sub(r"[^A-Za-z0-9]", "_", urn.split("::", 3)[-1])[-60:] + "_" + digest


def edges(resources: list[dict]) -> list[tuple[str, str]]:
    """(dependency, dependent) between custom resources."""
    custom = {r["urn"] for r in resources if r["custom"]}
    return sorted({(d, r["urn"]) for r in resources if r["custom"] for d in r.get("dependencies", [])
                   if d in custom and d != r["urn"]})


def transitive_dependencies(resources: list[dict], urn: str) -> set[str]:
    deps = {r["urn"]: [d for d in r.get("dependencies", [])] for r in resources}
    seen: set[str] = set()
    stack = list(deps.get(urn, []))
    while stack:
        d = stack.pop()
        if d not in seen:
            seen.add(d)
            stack.extend(deps.get(d, []))
    return seen


def critical_path(resources: list[dict]) -> tuple[float, list[dict]]:
    """The longest chain of typical create durations (minutes), and its resources in order."""
    by_urn = {r["urn"]: r for r in resources if r["custom"]}
    preds: dict[str, list[str]] = {u: [] for u in by_urn}
    for a, b in edges(resources):
        preds[b].append(a)

    @cache
    def longest(urn: str) -> tuple[float, tuple[str, ...]]:
        own = TYPICAL_MINUTES.get(by_urn[urn]["type"], DEFAULT_MINUTES)
        best: tuple[float, tuple[str, ...]] = (0.0, ())
        for p in preds[urn]:
            cand = longest(p)
            if cand[0] > best[0]:
                best = cand
        return best[0] + own, best[1] + (urn,)

    if not by_urn:
        return 0.0, []
    total, chain = max((longest(u) for u in by_urn), key=lambda x: x[0])
    return round(total, 1), [by_urn[u] for u in chain]


def render(resources: list[dict], fmt: str = "mermaid") -> str:
    by_urn = {r["urn"]: r for r in resources}
    clusters: dict[str, list[dict]] = {}
    for r in resources:
        if r["custom"]:
            clusters.setdefault(_top_component(r, by_urn), []).append(r)
    lines: list[str] = []
    if fmt == "dot":
        lines.append("digraph plan {\n  rankdir=LR;\n  node [shape=box, fontsize=10];")
        for i, (comp, members) in enumerate(sorted(clusters.items())):
            label = by_urn[comp]["name"] if comp in by_urn else comp
            lines.append(f'  subgraph cluster_{i} {{\n    label="{label}";')
            lines += [f'    {_id(r["urn"])} [label="{r["name"]}\\n{r["type"].split(":")[-1]}"];' for r in members]
            lines.append("  }")
        lines += [f"  {_id(a)} -> {_id(b)};" for a, b in edges(resources)]
        lines.append("}")
    else:
        lines.append("flowchart LR")
        for comp, members in sorted(clusters.items()):
            label = by_urn[comp]["name"] if comp in by_urn else comp
            lines.append(f'  subgraph {_id(comp)}["{label}"]')
            lines += [f'    {_id(r["urn"])}["{r["name"]}<br/>{r["type"].split(":")[-1]}"]' for r in members]
            lines.append("  end")
        lines += [f"  {_id(a)} --> {_id(b)}" for a, b in edges(resources)]
    return "\n".join(lines) + "\n"


def summary(resources: list[dict[str, Any]]) -> str:
    total, chain = critical_path(resources)
    steps = " -> ".join(f"{r['name']} ({TYPICAL_MINUTES.get(r['type'], DEFAULT_MINUTES):g} min)" for r in chain)
    return (f"critical path: {len(chain)} resources, about {total:g} minutes of typical create time\n  {steps}\n"
            "(durations: components/catalog/durations.py)\n")
