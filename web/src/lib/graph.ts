/** A workflow definition and the canvas's nodes and edges, each made from the other. Everything a
 * node carries besides id, type, config and position (retry, timeout_s, for_each, ...) rides along
 * in `data.extra`, so a round trip changes nothing the canvas does not edit. */
import type { Definition, EdgeSpec, NodeSpec } from "./types";

export interface StepData {
  nodeType: string;
  config: Record<string, unknown>;
  extra: Record<string, unknown>;
  issues?: string[];
  status?: string;
  [key: string]: unknown;
}

export interface CanvasNode {
  id: string;
  type: "step";
  position: { x: number; y: number };
  data: StepData;
}

export interface CanvasEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  label?: string;
  data?: { when?: string };
}

export interface Graph {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

const COLUMN = 240;
const ROW = 110;

export function edgeId(source: string, target: string, when?: string | null): string {
  return when ? `${source}->${target}:${when}` : `${source}->${target}`;
}

/** Column = longest path from a root, for definitions saved without positions. */
function layoutColumns(nodes: NodeSpec[], edges: EdgeSpec[]): Map<string, number> {
  const incoming = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const edge of edges) incoming.get(edge.to)?.push(edge.from);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const parents = incoming.get(id) ?? [];
    const value = parents.length ? Math.max(...parents.map(visit)) + 1 : 0;
    visiting.delete(id);
    depth.set(id, value);
    return value;
  };
  nodes.forEach((n) => visit(n.id));
  return depth;
}

export function definitionToGraph(definition: Definition): Graph {
  const columns = layoutColumns(definition.nodes, definition.edges);
  const rows = new Map<number, number>();
  const nodes = definition.nodes.map((spec): CanvasNode => {
    const { id, type, config, position, ...extra } = spec;
    let place = position && typeof position.x === "number" ? { x: position.x, y: position.y } : null;
    if (!place) {
      const column = columns.get(id) ?? 0;
      const row = rows.get(column) ?? 0;
      rows.set(column, row + 1);
      place = { x: column * COLUMN, y: row * ROW };
    }
    return { id, type: "step", position: place, data: { nodeType: type, config: { ...(config ?? {}) }, extra } };
  });
  const edges = definition.edges.map(
    (edge): CanvasEdge => ({
      id: edgeId(edge.from, edge.to, edge.when),
      source: edge.from,
      target: edge.to,
      sourceHandle: edge.when ?? null,
      ...(edge.when ? { label: edge.when, data: { when: edge.when } } : {}),
    }),
  );
  return { nodes, edges };
}

/** `base` keeps the definition's own top-level settings (timeout_s, max_concurrency). */
export function graphToDefinition(graph: Graph, base: Partial<Definition> = {}): Definition {
  const { nodes: _nodes, edges: _edges, ...settings } = base;
  return {
    ...settings,
    nodes: graph.nodes.map(
      (node): NodeSpec => ({
        id: node.id,
        type: node.data.nodeType,
        config: node.data.config,
        ...node.data.extra,
        position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
      }),
    ),
    edges: graph.edges.map((edge): EdgeSpec => {
      const when = edge.data?.when ?? edge.sourceHandle ?? undefined;
      return when ? { from: edge.source, to: edge.target, when } : { from: edge.source, to: edge.target };
    }),
  };
}

/** A fresh node id from the node type's action: `request`, `request_2`, ... */
export function nextNodeId(nodeType: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const stem = (nodeType.split(".").pop() ?? "step").replace(/[^A-Za-z0-9_]/g, "_");
  if (!used.has(stem)) return stem;
  for (let n = 2; ; n++) if (!used.has(`${stem}_${n}`)) return `${stem}_${n}`;
}

/** Node ids that can reach `id`: the steps whose output its templates may read. */
export function upstreamOf(id: string, edges: { source: string; target: string }[]): string[] {
  const found = new Set<string>();
  const queue = [id];
  while (queue.length) {
    const current = queue.shift()!;
    for (const edge of edges)
      if (edge.target === current && !found.has(edge.source)) {
        found.add(edge.source);
        queue.push(edge.source);
      }
  }
  found.delete(id);
  return [...found].sort();
}

/** Issues (from validation) grouped by the node they name; those naming none under "". */
export function issuesByNode(issues: { node?: string | null; field?: string | null; message: string }[]) {
  const grouped = new Map<string, string[]>();
  for (const issue of issues) {
    const key = issue.node ?? "";
    const text = issue.field ? `${issue.field}: ${issue.message}` : issue.message;
    grouped.set(key, [...(grouped.get(key) ?? []), text]);
  }
  return grouped;
}

/** `input.<name>` keys the definition's templates read: the run form asks for them. */
export function inputKeys(definition: Definition): string[] {
  const keys = new Set<string>();
  const text = JSON.stringify(definition.nodes.map((n) => [n.config, n.for_each]));
  for (const match of text.matchAll(/\binput\.([A-Za-z_][A-Za-z0-9_]*)/g)) keys.add(match[1]);
  return [...keys].sort();
}
