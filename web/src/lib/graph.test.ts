import { describe, expect, it } from "vitest";
import { definitionToGraph, graphToDefinition, inputKeys, issuesByNode, nextNodeId, upstreamOf } from "./graph";
import type { Definition } from "./types";

const TRIAGE: Definition = {
  timeout_s: 60,
  nodes: [
    { id: "fetch", type: "http.request", config: { url: "https://x.test/{{ input.q }}" }, position: { x: 10, y: 20 } },
    { id: "big", type: "logic.condition", config: { expr: "input.total > 100" }, retry: { max_attempts: 3, backoff_s: 1 } },
    { id: "note", type: "text.combine", config: { parts: ["{{ input.name }}"] }, for_each: "{{ input.items }}" },
    { id: "drop", type: "flow.delay", config: { seconds: 1 } },
  ],
  edges: [
    { from: "fetch", to: "big" },
    { from: "big", to: "note", when: "true" },
    { from: "big", to: "drop", when: "false" },
  ],
};

describe("definition to graph and back", () => {
  it("round-trips a definition, keeping retry, for_each, when and top-level settings", () => {
    const graph = definitionToGraph(TRIAGE);
    const back = graphToDefinition(graph, TRIAGE);
    expect(back.timeout_s).toBe(60);
    expect(back.edges).toEqual(TRIAGE.edges);
    expect(back.nodes.map(({ position: _p, ...rest }) => rest)).toEqual(
      TRIAGE.nodes.map(({ position: _p, ...rest }) => ({ ...rest })),
    );
  });

  it("keeps saved positions and lays out the rest by depth", () => {
    const graph = definitionToGraph(TRIAGE);
    const at = Object.fromEntries(graph.nodes.map((n) => [n.id, n.position]));
    expect(at.fetch).toEqual({ x: 10, y: 20 });
    expect(at.big.x).toBeLessThan(at.note.x);
    expect(at.note.x).toBe(at.drop.x);
    expect(at.note.y).not.toBe(at.drop.y);
  });

  it("turns a condition's `when` into the edge's source handle and label", () => {
    const edge = definitionToGraph(TRIAGE).edges.find((e) => e.target === "note")!;
    expect(edge).toMatchObject({ source: "big", sourceHandle: "true", label: "true", id: "big->note:true" });
  });

  it("writes positions as whole numbers", () => {
    const graph = definitionToGraph(TRIAGE);
    graph.nodes[0].position = { x: 1.6, y: 2.2 };
    expect(graphToDefinition(graph).nodes[0].position).toEqual({ x: 2, y: 2 });
  });

  it("takes the branch from the handle an edge was drawn from", () => {
    const graph = definitionToGraph({ nodes: TRIAGE.nodes, edges: [] });
    graph.edges.push({ id: "e", source: "big", target: "drop", sourceHandle: "false" });
    expect(graphToDefinition(graph).edges).toEqual([{ from: "big", to: "drop", when: "false" }]);
  });
});

describe("helpers", () => {
  it("names new nodes after their action, avoiding taken ids", () => {
    expect(nextNodeId("http.request", [])).toBe("request");
    expect(nextNodeId("http.request", ["request", "request_2"])).toBe("request_3");
  });

  it("finds every step upstream of a node", () => {
    const { edges } = definitionToGraph(TRIAGE);
    expect(upstreamOf("note", edges)).toEqual(["big", "fetch"]);
    expect(upstreamOf("fetch", edges)).toEqual([]);
  });

  it("groups validation issues by node", () => {
    const grouped = issuesByNode([
      { node: "fetch", field: "config.url", message: "field required" },
      { node: null, field: null, message: "cycle" },
    ]);
    expect(grouped.get("fetch")).toEqual(["config.url: field required"]);
    expect(grouped.get("")).toEqual(["cycle"]);
  });

  it("lists the input keys templates read", () => {
    expect(inputKeys(TRIAGE)).toEqual(["items", "name", "q", "total"]);
  });
});
