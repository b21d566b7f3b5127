"""The deployment graph: component and detail views, critical-path highlight, valid Mermaid and DOT."""

from __future__ import annotations

import re

import pydot
import pytest

from mlplat.graph import critical_path, render, summary

STACK = "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t"
MERMAID_NODE = re.compile(r'^\s*(\w+)\["([^"]*)"\]$')
MERMAID_EDGE = re.compile(r"^\s*(\w+) --> (\w+)$")
DOT_NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(, color=red, penwidth=3)?\];$')
DOT_EDGE = re.compile(r"^\s*(\w+) -> (\w+)( \[color=red, penwidth=3\])?;$")


def _res(name: str, typ: str, parent: str | None = STACK, deps: tuple[str, ...] = (), custom: bool = True) -> dict:
    return {"urn": f"urn:{name}", "type": typ, "name": name, "custom": custom, "parent": parent,
            "dependencies": list(deps)}


def _tiny() -> list[dict]:
    """Two components (one nested), a stand-alone resource, a provider; the slow chain is key -> cluster -> pool."""
    return [
        _res("aws", "pulumi:providers:aws"),
        _res("sec", "t:sec:Keys", custom=False),
        _res("key", "aws:kms/key:Key", "urn:sec"),
        _res("role", "aws:iam/role:Role", "urn:sec"),
        _res("k8s", "t:eks:Cluster", custom=False),
        _res("k8s-inner", "t:eks:Inner", "urn:k8s", custom=False),
        _res("cluster", "aws:eks/cluster:Cluster", "urn:k8s-inner", ("urn:key", "urn:role", "urn:aws")),
        _res("pool", "aws:eks/nodeGroup:NodeGroup", "urn:k8s", ("urn:cluster", "urn:role")),
        _res("table", "aws:dynamodb/table:Table", deps=("urn:key", "urn:pool")),
        _res("empty", "t:misc:Nothing", custom=False),
    ]


def _mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    lines = text.splitlines()
    nodes = {m[1]: m[2] for line in lines if (m := MERMAID_NODE.match(line))}
    return nodes, [(m[1], m[2]) for line in lines if (m := MERMAID_EDGE.match(line))]


def _dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]], set[str], set[tuple[str, str]]]:
    lines = text.splitlines()
    nodes = [m for line in lines if (m := DOT_NODE.match(line))]
    edges = [m for line in lines if (m := DOT_EDGE.match(line))]
    return ({m[1]: m[2] for m in nodes}, [(m[1], m[2]) for m in edges],
            {m[1] for m in nodes if m[3]}, {(m[1], m[2]) for m in edges if m[3]})


def _by_label(nodes: dict[str, str]) -> dict[str, str]:
    """Node id by the first label line (the resource or component name)."""
    return {re.split(r"<br/>|\\n", label)[0]: nid for nid, label in nodes.items()}


def _highlight(text: str) -> tuple[set[str], list[int]]:
    """Mermaid: the ids with class `critical` and the styled link indexes."""
    assert "classDef critical stroke:#d33,stroke-width:3px" in text
    classed = re.search(r"^\s*class (\S+) critical$", text, re.M)
    links = re.search(r"^\s*linkStyle (\S+) stroke:#d33,stroke-width:3px$", text, re.M)
    return (set(classed[1].split(",")) if classed else set(),
            [int(i) for i in links[1].split(",")] if links else [])


def test_component_mode_draws_one_node_per_top_level_unit():
    nodes, edges = _mermaid(render(_tiny()))
    ids = _by_label(nodes)
    assert set(ids) == {"sec", "k8s", "table", "empty"}  # no provider, no nested component, no member resource
    assert nodes[ids["sec"]] == "sec<br/>Keys · 2 resources"
    assert nodes[ids["k8s"]] == "k8s<br/>Cluster · 2 resources"  # counts the nested component's resources too
    assert nodes[ids["empty"]] == "empty<br/>Nothing · 0 resources"
    assert nodes[ids["table"]] == "table<br/>Table"
    assert "subgraph" not in render(_tiny())


def test_component_edges_come_from_resource_dependencies_deduplicated():
    nodes, edges = _mermaid(render(_tiny()))
    ids = _by_label(nodes)
    named = [(_name(ids, a), _name(ids, b)) for a, b in edges]
    # cluster and pool both depend on key/role: one sec -> k8s edge; intra-component and provider deps are dropped
    assert sorted(named) == [("k8s", "table"), ("sec", "k8s"), ("sec", "table")]


def _name(ids: dict[str, str], nid: str) -> str:
    return next(name for name, i in ids.items() if i == nid)


def test_critical_path_is_highlighted_in_mermaid_components():
    text = render(_tiny())
    nodes, edges = _mermaid(text)
    ids = _by_label(nodes)
    classed, links = _highlight(text)
    _, chain = critical_path(_tiny())
    assert [r["name"] for r in chain] == ["key", "cluster", "pool", "table"]
    assert classed == {ids["sec"], ids["k8s"], ids["table"]}
    assert sorted(links) == sorted(edges.index((ids[a], ids[b])) for a, b in (("sec", "k8s"), ("k8s", "table")))


def test_critical_path_is_highlighted_in_mermaid_detail():
    text = render(_tiny(), detail=True)
    nodes, edges = _mermaid(text)
    ids = _by_label(nodes)
    classed, links = _highlight(text)
    path = [("key", "cluster"), ("cluster", "pool"), ("pool", "table")]
    assert classed == {ids[n] for n in ("key", "cluster", "pool", "table")}
    assert sorted(links) == sorted(edges.index((ids[a], ids[b])) for a, b in path)


@pytest.mark.parametrize("detail", [False, True])
def test_critical_path_edges_are_exactly_the_red_dot_edges(detail):
    nodes, edges, red_nodes, red_edges = _dot(render(_tiny(), "dot", detail=detail))
    ids = _by_label(nodes)
    if detail:
        path = [("key", "cluster"), ("cluster", "pool"), ("pool", "table")]
        on_path = {"key", "cluster", "pool", "table"}
    else:
        path, on_path = [("sec", "k8s"), ("k8s", "table")], {"sec", "k8s", "table"}
    assert red_edges == {(ids[a], ids[b]) for a, b in path}
    assert red_nodes == {ids[n] for n in on_path}
    assert set(red_edges) <= set(edges)


def test_detail_mode_keeps_a_node_per_custom_resource_in_component_clusters():
    text = render(_tiny(), detail=True)
    nodes, edges = _mermaid(text)
    assert set(_by_label(nodes)) == {"aws", "key", "role", "cluster", "pool", "table"}
    subgraphs = re.findall(r"^\s*subgraph (\w+)\[", text, re.M)
    assert len(subgraphs) == 4 and not set(subgraphs) & set(nodes)  # aws, sec, k8s, table; ids never collide
    assert len(edges) == 7  # every dependency between custom resources, the provider's included


def test_labels_are_escaped_and_ids_stay_plain():
    tricky = [_res('a "quoted" <b>#1\\', "t:x:Thing", custom=False),
              _res("inner", "aws:iam/role:Role", 'urn:a "quoted" <b>#1\\')]
    mermaid = render(tricky)
    (line,) = [line for line in mermaid.splitlines() if "quoted" in line and "[" in line]
    assert MERMAID_NODE.match(line), line
    assert "#quot;quoted#quot;" in line and "<b>" not in line
    dot = render(tricky, "dot", detail=True)
    assert 'label="a \\"quoted\\" <b>#1\\\\"' in dot
    assert DOT_NODE.match(next(line for line in dot.splitlines() if "inner" in line))


def test_prod_component_mermaid_fits_mermaid_max_text_size(envs):
    resources = envs["prod"].plan["resources"]
    urns = {r["urn"] for r in resources}
    top_level = {r["name"] for r in resources
                 if r["parent"] not in urns and not r["type"].startswith("pulumi:providers:")}
    text = render(resources)
    assert len(text) < 50_000
    nodes, edges = _mermaid(text)
    assert set(_by_label(nodes)) == top_level and len(nodes) == len(top_level)
    ids = _by_label(nodes)
    assert (ids["mlplat-prod-gpu"], ids["mlplat-prod-ops"]) in edges
    classed, links = _highlight(text)
    assert ids["mlplat-prod-gpu"] in classed and links


def test_prod_detail_mode_has_a_node_per_custom_resource(envs):
    resources = envs["prod"].plan["resources"]
    nodes, _ = _mermaid(render(resources, detail=True))
    assert len(nodes) == sum(r["custom"] for r in resources)
    dot_nodes, _, red_nodes, red_edges = _dot(render(resources, "dot", detail=True))
    _, chain = critical_path(resources)
    assert len(dot_nodes) == len(nodes) and len(red_nodes) == len(chain) and len(red_edges) == len(chain) - 1


def test_summary_names_the_critical_path(envs):
    resources = envs["prod"].plan["resources"]
    total, chain = critical_path(resources)
    first, steps, _ = summary(resources).splitlines()
    assert first == f"critical path: {len(chain)} resources, about {total:g} minutes of typical create time"
    assert steps.strip().startswith(chain[0]["name"]) and chain[-1]["name"] in steps


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError, match="unknown graph format"):
        render(_tiny(), "svg")


def test_component_dot_parses_with_pydot(envs):
    """pydot's parser (pure Python) on the prod graph; the detail view is rendered by graphviz below."""
    source = render(envs["prod"].plan["resources"], "dot")
    (graph,) = pydot.graph_from_dot_data(source)
    _, edges, _, red_edges = _dot(source)
    parsed = _pydot_edges(graph)
    assert len(parsed) == len(edges)
    assert {(e.get_source(), e.get_destination()) for e in parsed if e.get("color") == "red"} == red_edges


def _pydot_edges(graph) -> list:
    return graph.get_edges() + [e for sub in graph.get_subgraphs() for e in sub.get_edges()]
