"""The deployment graph of a plan (Mermaid or DOT) and its critical path.

`render` draws one node per top-level component by default (small enough for Mermaid's default
`maxTextSize` even for prod) or, with `detail=True`, every custom resource grouped into its
top-level component. Both highlight the critical path: the longest chain of typical create
durations from `components/catalog/durations.py`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from components.catalog.durations import DEFAULT_MINUTES, TYPICAL_MINUTES

PROVIDER_PREFIX = "pulumi:providers:"
HIGHLIGHT_MERMAID = "stroke:#d33,stroke-width:3px"
HIGHLIGHT_DOT = "color=red, penwidth=3"

Edge = tuple[str, str]


@dataclass
class _Graph:
    """A format-neutral drawing: node ids with label lines, optional clusters, edges and the highlight."""

    nodes: dict[str, list[str]] = field(default_factory=dict)
    clusters: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (id, label, member node ids)
    edges: list[Edge] = field(default_factory=list)
    hot_nodes: set[str] = field(default_factory=set)
    hot_edges: set[Edge] = field(default_factory=set)


def _is_stack(r: dict) -> bool:
    return r["type"].endswith("Stack")


def _top_component(r: dict, by_urn: dict[str, dict]) -> str:
    """The outermost resource below the stack that contains `r` (or `r` itself)."""
    current = r
    while current.get("parent") in by_urn and not _is_stack(by_urn[current["parent"]]):
        current = by_urn[current["parent"]]
    return current["urn"]


def _id(urn: str) -> str:
    """A Mermaid- and DOT-safe node id: letters, digits and underscores, unique per URN."""
    digest = hashlib.sha256(urn.encode()).hexdigest()[:6]
    return "n" + re.sub(r"[^A-Za-z0-9]", "_", urn.split("::", 3)[-1])[-60:] + "_" + digest


def _type_name(r: dict) -> str:
    return r["type"].split(":")[-1]


def edges(resources: list[dict]) -> list[Edge]:
    """(dependency, dependent) between custom resources."""
    custom = {r["urn"] for r in resources if r["custom"]}
    return sorted({(d, r["urn"]) for r in resources if r["custom"] for d in r.get("dependencies", [])
                   if d in custom and d != r["urn"]})


def transitive_dependencies(resources: list[dict], urn: str) -> set[str]:
    deps = {r["urn"]: list(r.get("dependencies", [])) for r in resources}
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


def _path_edges(chain: list[dict]) -> list[Edge]:
    return [(a["urn"], b["urn"]) for a, b in zip(chain, chain[1:], strict=False)]


def _detail_graph(resources: list[dict]) -> _Graph:
    """Every custom resource a node, grouped by top-level component."""
    by_urn = {r["urn"]: r for r in resources}
    members: dict[str, list[dict]] = {}
    for r in resources:
        if r["custom"]:
            members.setdefault(_top_component(r, by_urn), []).append(r)
    g = _Graph()
    for comp, rs in sorted(members.items()):
        label = by_urn[comp]["name"] if comp in by_urn else comp
        g.clusters.append(("c_" + _id(comp), label, [_id(r["urn"]) for r in rs]))
        g.nodes.update({_id(r["urn"]): [r["name"], _type_name(r)] for r in rs})
    g.edges = [(_id(a), _id(b)) for a, b in edges(resources)]
    _, chain = critical_path(resources)
    g.hot_nodes = {_id(r["urn"]) for r in chain}
    g.hot_edges = {(_id(a), _id(b)) for a, b in _path_edges(chain)}
    return g


def _units(resources: list[dict], by_urn: dict[str, dict]) -> dict[str, dict]:
    """Top-level components and stand-alone custom resources (providers and the stack excluded), by URN."""
    return {r["urn"]: r for r in resources
            if _top_component(r, by_urn) == r["urn"] and not _is_stack(r) and not r["type"].startswith(PROVIDER_PREFIX)}


def _unit_label(unit: dict, custom_count: int) -> list[str]:
    if unit["custom"]:
        return [unit["name"], _type_name(unit)]
    noun = "resource" if custom_count == 1 else "resources"
    return [unit["name"], f"{_type_name(unit)} · {custom_count} {noun}"]


def _component_graph(resources: list[dict]) -> _Graph:
    """One node per top-level unit (plan order); A -> B when a custom resource in B depends on one in A."""
    by_urn = {r["urn"]: r for r in resources}
    units = _units(resources, by_urn)
    top = {r["urn"]: _top_component(r, by_urn) for r in resources}
    counts = {u: 0 for u in units}
    for r in resources:
        if r["custom"] and top[r["urn"]] in counts:
            counts[top[r["urn"]]] += 1

    order = {u: i for i, u in enumerate(units)}

    def lift(pairs: list[Edge]) -> list[Edge]:
        lifted = {(top[a], top[b]) for a, b in pairs if top[a] != top[b] and top[a] in units and top[b] in units}
        return sorted(lifted, key=lambda e: (order[e[0]], order[e[1]]))

    g = _Graph(nodes={_id(u): _unit_label(unit, counts[u]) for u, unit in units.items()})
    g.edges = [(_id(a), _id(b)) for a, b in lift(edges(resources))]
    _, chain = critical_path(resources)
    g.hot_nodes = {_id(top[r["urn"]]) for r in chain if top[r["urn"]] in units}
    g.hot_edges = {(_id(a), _id(b)) for a, b in lift(_path_edges(chain))}
    return g


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes for `#`, `"`, `<`, `>`)."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def _mermaid_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(_mermaid_text(line) for line in lines) + '"'


def _to_mermaid(g: _Graph) -> list[str]:
    out = ["flowchart LR"]
    clustered: set[str] = set()
    for cid, label, members in g.clusters:
        out.append(f"  subgraph {cid}[{_mermaid_label([label])}]")
        out += [f"    {n}[{_mermaid_label(g.nodes[n])}]" for n in members]
        out.append("  end")
        clustered.update(members)
    out += [f"  {n}[{_mermaid_label(lines)}]" for n, lines in g.nodes.items() if n not in clustered]
    out += [f"  {a} --> {b}" for a, b in g.edges]
    out.append(f"  classDef critical {HIGHLIGHT_MERMAID}")
    if g.hot_nodes:
        out.append(f"  class {','.join(sorted(g.hot_nodes))} critical")
    hot_links = [str(i) for i, e in enumerate(g.edges) if e in g.hot_edges]
    if hot_links:
        out.append(f"  linkStyle {','.join(hot_links)} {HIGHLIGHT_MERMAID}")
    return out


def _dot_label(lines: list[str]) -> str:
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def _dot_node(g: _Graph, n: str) -> str:
    extra = f", {HIGHLIGHT_DOT}" if n in g.hot_nodes else ""
    return f"{n} [label={_dot_label(g.nodes[n])}{extra}];"


def _to_dot(g: _Graph) -> list[str]:
    out = ["digraph plan {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    clustered: set[str] = set()
    for i, (_, label, members) in enumerate(g.clusters):
        out += [f"  subgraph cluster_{i} {{", f"    label={_dot_label([label])};"]
        out += [f"    {_dot_node(g, n)}" for n in members]
        out.append("  }")
        clustered.update(members)
    out += [f"  {_dot_node(g, n)}" for n in g.nodes if n not in clustered]
    out += [f"  {a} -> {b}" + (f" [{HIGHLIGHT_DOT}];" if (a, b) in g.hot_edges else ";") for a, b in g.edges]
    out.append("}")
    return out


def render(resources: list[dict], fmt: str = "mermaid", detail: bool = False) -> str:
    """The plan as a Mermaid flowchart or a DOT digraph, critical path highlighted.

    detail=False: one node per top-level component; detail=True: one node per custom resource.
    """
    if fmt not in ("mermaid", "dot"):
        raise ValueError(f"unknown graph format {fmt!r} (expected 'mermaid' or 'dot')")
    g = _detail_graph(resources) if detail else _component_graph(resources)
    return "\n".join(_to_dot(g) if fmt == "dot" else _to_mermaid(g)) + "\n"


def summary(resources: list[dict[str, Any]]) -> str:
    total, chain = critical_path(resources)
    steps = " -> ".join(f"{r['name']} ({TYPICAL_MINUTES.get(r['type'], DEFAULT_MINUTES):g} min)" for r in chain)
    return (f"critical path: {len(chain)} resources, about {total:g} minutes of typical create time\n  {steps}\n"
            "(durations: components/catalog/durations.py)\n")
