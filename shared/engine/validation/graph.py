"""Checks of the workflow graph: node ids, edges and their branches, cycles; and which nodes are upstream."""

from __future__ import annotations

from collections import defaultdict
from graphlib import CycleError, TopologicalSorter

from shared.engine.definition import EdgeSpec, NodeSpec
from shared.engine.validation.issues import IssueLog
from shared.nodes.registry import NodeRegistry, NodeType


class GraphCheck:
    """`check()` reports the graph's problems; afterwards `ids` and `ancestors()` describe the graph."""

    def __init__(
        self,
        nodes: list[NodeSpec],
        edges: list[EdgeSpec],
        registry: NodeRegistry,
        declared: set[str],
        log: IssueLog,
    ) -> None:
        self.nodes = nodes
        self.edges = edges
        self.registry = registry
        self.ids = declared | {node.id for node in nodes}
        self.parents: dict[str, set[str]] = defaultdict(set)
        self._ancestors: dict[str, frozenset[str]] = {}
        self.add = log.add

    def check(self) -> None:
        if not self.ids:
            self.add("a workflow needs at least one node", field="nodes")
        self.check_ids()
        self.check_edges()
        self.check_cycles()

    def check_ids(self) -> None:
        first_index: dict[str, int] = {}
        for index, node in enumerate(self.nodes):
            if node.id in first_index:
                self.add(
                    f"duplicate node id {node.id!r} (also nodes[{first_index[node.id]}])",
                    node=node.id,
                    field=f"nodes[{index}].id",
                )
            else:
                first_index[node.id] = index

    def check_edges(self) -> None:
        seen: dict[tuple[str, str, str | None], int] = {}
        types: dict[str, str] = {}
        for node in self.nodes:
            types.setdefault(node.id, node.type)
        for index, edge in enumerate(self.edges):
            owner = edge.source if edge.source in self.ids else None
            for end, node_id in (("from", edge.source), ("to", edge.target)):
                if node_id not in self.ids:
                    self.add(f"edge {end} unknown node {node_id!r}", node=owner, field=f"edges[{index}].{end}")
            key = (edge.source, edge.target, edge.when)
            if key in seen:
                self.add(
                    f"duplicate edge {edge.source!r} -> {edge.target!r} (also edges[{seen[key]}])",
                    node=owner,
                    field=f"edges[{index}]",
                )
            seen.setdefault(key, index)
            if edge.source == edge.target:
                self.add(f"edge from {edge.source!r} to itself", node=owner, field=f"edges[{index}]")
            elif edge.source in self.ids and edge.target in self.ids:
                self.parents[edge.target].add(edge.source)
            if edge.when is not None and types.get(edge.source) in self.registry:
                self.check_when(index, edge, self.registry.get(types[edge.source]))

    def check_when(self, index: int, edge: EdgeSpec, node_type: NodeType) -> None:
        if not node_type.branches:
            message = f"{edge.source!r} ({node_type.name}) has no branches, so its edges can't have a 'when'"
        elif edge.when not in node_type.branches:
            valid = ", ".join(repr(branch) for branch in node_type.branches)
            message = f"{edge.when!r} is not a branch of {node_type.name}; valid branches: {valid}"
        else:
            return
        self.add(message, node=edge.source, field=f"edges[{index}].when")

    def check_cycles(self) -> None:
        graph = {node_id: set(parents) for node_id, parents in self.parents.items()}
        for _ in range(len(self.edges) + 1):
            try:
                TopologicalSorter(graph).prepare()
                return
            except CycleError as exc:
                cycle = list(exc.args[1])  # [a, b, ..., a], each node a predecessor of the next
                self.add("cycle: " + " -> ".join(cycle), node=cycle[0], field="edges")
                graph[cycle[1]].discard(cycle[0])

    def ancestors(self, node_id: str) -> frozenset[str]:
        known = self._ancestors.get(node_id)
        if known is None:
            found: set[str] = set()
            pending = list(self.parents.get(node_id, ()))
            while pending:
                parent = pending.pop()
                if parent not in found:
                    found.add(parent)
                    pending.extend(self.parents.get(parent, ()))
            known = self._ancestors[node_id] = frozenset(found)
        return known
