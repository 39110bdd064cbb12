"""The shape of a run: which node waits for which, which edges a finished node takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Literal

from shared.engine.definition import EdgeSpec, NodeSpec, WorkflowDefinition
from shared.nodes.registry import NodeRegistry, NodeType

JoinDecision = Literal["run", "skip", "blocked"]


@dataclass(frozen=True)
class StepOutcome:
    """What a finished node left for its successors to decide on."""

    status: str
    branch: str | None = None


@dataclass(frozen=True)
class Plan:
    definition: WorkflowDefinition
    nodes: Mapping[str, NodeSpec]
    node_types: Mapping[str, NodeType]
    incoming: Mapping[str, tuple[EdgeSpec, ...]]
    sinks: tuple[str, ...]

    @property
    def lane(self) -> str:
        """`browser` when any node needs a browser, else `light`."""
        return "browser" if any(t.lane == "browser" for t in self.node_types.values()) else "light"

    def sorter(self) -> TopologicalSorter[str]:
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for node_id in self.nodes:
            sorter.add(node_id, *(edge.source for edge in self.incoming[node_id]))
        sorter.prepare()
        return sorter

    def credit_estimate(self) -> int:
        """The cost of running every node once (for_each nodes count once)."""
        return sum(t.cost for t in self.node_types.values())

    def decide(self, node_id: str, outcomes: Mapping[str, StepOutcome]) -> JoinDecision:
        """The join rule: run when an incoming edge is taken and no taken predecessor failed;
        skip when every incoming edge is untaken."""
        edges = self.incoming[node_id]
        if not edges:
            return "run"
        taken = False
        for edge in edges:
            source = outcomes[edge.source]
            if source.status == "failed":
                return "blocked"
            if edge_taken(edge, source):
                taken = True
        return "run" if taken else "skip"


def edge_taken(edge: EdgeSpec, source: StepOutcome) -> bool:
    if source.status != "succeeded":
        return False
    return edge.when is None or edge.when == source.branch


def build_plan(definition: WorkflowDefinition, registry: NodeRegistry) -> Plan:
    nodes = {node.id: node for node in definition.nodes}
    incoming: dict[str, list[EdgeSpec]] = {node_id: [] for node_id in nodes}
    has_outgoing: set[str] = set()
    for edge in definition.edges:
        incoming[edge.target].append(edge)
        has_outgoing.add(edge.source)
    return Plan(
        definition=definition,
        nodes=nodes,
        node_types={node.id: registry.get(node.type) for node in definition.nodes},
        incoming={node_id: tuple(edges) for node_id, edges in incoming.items()},
        sinks=tuple(node_id for node_id in nodes if node_id not in has_outgoing),
    )
