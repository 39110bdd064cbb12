import {
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  type Connection,
  Controls,
  type Edge,
  type EdgeChange,
  type NodeChange,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { CanvasContext } from "../components/builder/context";
import { DRAG_TYPE, Palette } from "../components/builder/Palette";
import { RunPanel } from "../components/builder/RunPanel";
import { SchedulePanel } from "../components/builder/SchedulePanel";
import { NODE_COMPONENTS, type StepNodeType } from "../components/builder/StepNode";
import { StepForm } from "../components/builder/StepForm";
import { VersionsPanel } from "../components/builder/VersionsPanel";
import { WebhookPanel } from "../components/builder/WebhookPanel";
import { buttonClass, ErrorNote, inputClass, Loading, mutedText, Notice } from "../components/ui";
import { api, ApiError, describeError, type Issue } from "../lib/api";
import { downloadJson } from "../lib/format";
import { definitionToGraph, edgeId, graphToDefinition, issuesByNode, nextNodeId, upstreamOf } from "../lib/graph";
import { EditHistory } from "../lib/history";
import { initialConfig } from "../lib/schemaForm";
import { useNodeTypes } from "../lib/nodeTypes";
import { navigate } from "../lib/router";
import { useTheme } from "../lib/theme";
import type { Definition, Workflow } from "../lib/types";
import { useApi } from "../lib/useApi";

type Tab = "step" | "run" | "schedule" | "webhook" | "versions";
interface Snapshot {
  nodes: StepNodeType[];
  edges: Edge[];
}

function clean(nodes: StepNodeType[], edges: Edge[]): Snapshot {
  return {
    nodes: nodes.map(({ id, type, position, data }) => ({ id, type, position, data: { nodeType: data.nodeType, config: data.config, extra: data.extra } })),
    edges: edges.map(({ id, source, target, sourceHandle, label, data }) => ({ id, source, target, sourceHandle, label, data })),
  };
}

/** A message that survives the remount after a new workflow's first save changes the URL. */
let flash: string | null = null;

function Builder({ workflowId }: { workflowId: string | null }) {
  const types = useNodeTypes();
  const [theme] = useTheme();
  const flow = useReactFlow();
  const credentials = useApi<{ data: { name: string; type: string }[] }>("/credentials");
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [name, setName] = useState("Untitled workflow");
  const [status, setStatus] = useState("draft");
  const [base, setBase] = useState<Partial<Definition>>({});
  const [nodes, setNodes] = useState<StepNodeType[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("step");
  const [issues, setIssues] = useState<Issue[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(() => {
    const text = flash;
    flash = null;
    return text;
  });
  const [savedText, setSavedText] = useState("");
  const [loading, setLoading] = useState(workflowId !== null);
  const [saving, setSaving] = useState(false);
  const history = useRef(new EditHistory<Snapshot>());
  const [, setHistoryTick] = useState(0);

  const nodeTypes = useMemo(() => new Map((types ?? []).map((t) => [t.name, t])), [types]);
  const definition = useMemo(() => graphToDefinition({ nodes: nodes as never, edges: edges as never }, base), [nodes, edges, base]);
  const currentText = JSON.stringify([name, status, definition]);
  const dirty = currentText !== savedText;

  const load = useCallback(
    (loaded: Workflow) => {
      const graph = definitionToGraph(loaded.definition ?? { nodes: [], edges: [] });
      setWorkflow(loaded);
      setName(loaded.name);
      setStatus(loaded.status);
      setBase(loaded.definition ?? {});
      setNodes(graph.nodes as StepNodeType[]);
      setEdges(graph.edges as Edge[]);
      setSavedText(JSON.stringify([loaded.name, loaded.status, graphToDefinition(graph, loaded.definition ?? {})]));
      setIssues([]);
    },
    [],
  );

  useEffect(() => {
    if (!workflowId) {
      setSavedText(JSON.stringify(["", "", { nodes: [], edges: [] }]));
      return;
    }
    api<Workflow>(`/workflows/${workflowId}`)
      .then(load)
      .catch((reason) => setProblem(describeError(reason)))
      .finally(() => setLoading(false));
  }, [workflowId, load]);

  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (dirty) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const record = useCallback(() => {
    history.current.record(clean(nodes, edges));
    setHistoryTick((n) => n + 1);
  }, [nodes, edges]);

  const restore = (snapshot: Snapshot | null) => {
    if (!snapshot) return;
    setNodes(snapshot.nodes);
    setEdges(snapshot.edges);
    setHistoryTick((n) => n + 1);
  };
  const undo = () => restore(history.current.undo(clean(nodes, edges)));
  const redo = () => restore(history.current.redo(clean(nodes, edges)));

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (target.closest("input, textarea, select")) return;
      if (!(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) {
        event.preventDefault();
        undo();
      } else if ((key === "z" && event.shiftKey) || key === "y") {
        event.preventDefault();
        redo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const addNode = (type: string, position?: { x: number; y: number }) => {
    const nodeType = nodeTypes.get(type);
    if (!nodeType) return;
    record();
    const id = nextNodeId(type, nodes.map((n) => n.id));
    const bounds = document.querySelector(".react-flow")?.getBoundingClientRect();
    const at =
      position ??
      (bounds
        ? flow.screenToFlowPosition({ x: bounds.left + bounds.width / 2 - 100, y: bounds.top + bounds.height / 2 - 30 })
        : { x: 0, y: nodes.length * 120 });
    setNodes((current) => [
      ...current.map((n) => ({ ...n, selected: false })),
      { id, type: "step", position: at, selected: true, data: { nodeType: type, config: initialConfig(nodeType.config_schema), extra: {} } },
    ]);
    setSelected(id);
    setTab("step");
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const type = event.dataTransfer.getData(DRAG_TYPE);
    if (type) addNode(type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  };

  const onNodesChange = useCallback((changes: NodeChange<StepNodeType>[]) => setNodes((current) => applyNodeChanges(changes, current)), []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => setEdges((current) => applyEdgeChanges(changes, current)), []);
  const connect = (source: string, target: string, when: string | null) => {
    if (source === target) return;
    const id = edgeId(source, target, when);
    if (edges.some((e) => e.id === id)) return;
    record();
    setEdges((current) =>
      addEdge({ id, source, target, sourceHandle: when, ...(when ? { label: when, data: { when } } : {}) }, current),
    );
  };
  const onConnect = (connection: Connection) => {
    const branches = nodeTypes.get(nodes.find((n) => n.id === connection.source)?.data.nodeType ?? "")?.branches ?? [];
    connect(connection.source, connection.target, branches.length ? (connection.sourceHandle ?? branches[0]) : null);
  };

  const updateNode = (id: string, patch: Partial<StepNodeType["data"]>) =>
    setNodes((current) => current.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch } } : n)));

  const rename = (from: string, to: string): string | null => {
    if (nodes.some((n) => n.id === to)) return `A step named ${to} exists already`;
    record();
    setNodes((current) => current.map((n) => (n.id === from ? { ...n, id: to } : n)));
    setEdges((current) =>
      current.map((e) => {
        const source = e.source === from ? to : e.source;
        const target = e.target === from ? to : e.target;
        const when = (e.data?.when as string | undefined) ?? null;
        return { ...e, id: edgeId(source, target, when), source, target };
      }),
    );
    setSelected(to);
    return null;
  };

  const deleteNode = (id: string) => {
    record();
    setNodes((current) => current.filter((n) => n.id !== id));
    setEdges((current) => current.filter((e) => e.source !== id && e.target !== id));
    setSelected(null);
  };

  const save = async (): Promise<string | null> => {
    setSaving(true);
    setProblem(null);
    setMessage(null);
    try {
      const check = await api<{ valid: boolean; issues: Issue[] }>("/workflows/validate", { method: "POST", body: { definition } });
      if (!check.valid) throw new ApiError(422, "validation_error", "the workflow definition is invalid", check.issues);
      const saved = workflowId
        ? await api<Workflow>(`/workflows/${workflowId}`, { method: "PATCH", body: { name, status, definition } })
        : await api<Workflow>("/workflows", { method: "POST", body: { name, status, definition } });
      setIssues([]);
      setSavedText(JSON.stringify([name, status, definition]));
      setWorkflow(saved);
      setMessage(`Saved as version ${saved.current_version}`);
      if (!workflowId) {
        flash = `Saved as version ${saved.current_version}`;
        navigate(`/workflows/${saved.id}`, { replace: true });
      }
      return saved.id;
    } catch (reason) {
      if (reason instanceof ApiError && reason.details.length) {
        setIssues(reason.details);
        const first = reason.details.find((d) => d.node)?.node;
        if (first) setSelected(first);
      }
      setProblem(describeError(reason));
      return null;
    } finally {
      setSaving(false);
    }
  };
  const ensureSaved = async () => (dirty || !workflowId ? save() : workflowId);

  const exportJson = () => downloadJson(`${name.replace(/[^\w.-]+/g, "-")}.json`, { format: "flowbuilder.workflow/v1", name, description: workflow?.description ?? "", definition });

  const grouped = useMemo(() => issuesByNode(issues), [issues]);
  const canvasInfo = useMemo(() => ({ nodeTypes, issues: grouped, statuses: null }), [nodeTypes, grouped]);
  const selectedNode = nodes.find((n) => n.id === selected);

  if (!types || loading) return <Loading label="Loading the builder" />;

  const tabs: [Tab, string][] = [["step", "Step"], ["run", "Run"], ["schedule", "Schedule"], ["webhook", "Webhook"], ["versions", "Versions"]];
  return (
    <div className="flex flex-col gap-2">
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor="workflow-name" className="sr-only">Workflow name</label>
        <input id="workflow-name" className={`${inputClass} w-full font-medium sm:w-72`} value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="workflow-status" className="sr-only">Status</label>
        <select id="workflow-status" className={`${inputClass} w-auto`} value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="draft">draft</option>
          <option value="active">active</option>
          {workflowId && <option value="archived">archived</option>}
        </select>
        <button type="button" className={buttonClass.primary} onClick={() => void save()} disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" className={buttonClass.secondary} onClick={undo} disabled={!history.current.canUndo} aria-keyshortcuts="Control+Z">Undo</button>
        <button type="button" className={buttonClass.secondary} onClick={redo} disabled={!history.current.canRedo} aria-keyshortcuts="Control+Shift+Z">Redo</button>
        <button type="button" className={buttonClass.secondary} onClick={exportJson}>Export</button>
        <span className={`text-sm ${mutedText}`} data-testid="save-state">
          {dirty ? "Unsaved changes" : workflow ? `Version ${workflow.current_version}` : ""}
        </span>
      </div>
      {problem && <ErrorNote>{problem}</ErrorNote>}
      {message && <Notice>{message}</Notice>}
      {grouped.get("") && <ErrorNote>{grouped.get("")!.join("; ")}</ErrorNote>}
      <div className="flex flex-col gap-2 lg:h-[calc(100vh-10rem)] lg:flex-row">
        <aside className="max-h-44 shrink-0 overflow-y-auto rounded-lg border border-gray-200 bg-white p-2 dark:border-gray-700 dark:bg-gray-900 lg:max-h-none lg:w-52" aria-label="Palette">
          <Palette nodeTypes={types} onAdd={(type) => addNode(type)} />
        </aside>
        <section
          aria-label="Workflow canvas"
          className="h-[420px] min-w-0 shrink-0 overflow-hidden rounded-lg border border-gray-200 dark:border-gray-700 lg:h-auto lg:flex-1 lg:shrink"
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = "move";
          }}
          onDrop={onDrop}
        >
          <CanvasContext.Provider value={canvasInfo}>
            <ReactFlow<StepNodeType, Edge>
              nodes={nodes}
              edges={edges}
              nodeTypes={NODE_COMPONENTS}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onNodeDragStart={record}
              onBeforeDelete={async () => {
                record();
                return true;
              }}
              onNodesDelete={(deleted) => deleted.some((n) => n.id === selected) && setSelected(null)}
              onSelectionChange={({ nodes: picked }) => {
                if (picked[0]) {
                  setSelected(picked[0].id);
                  setTab("step");
                }
              }}
              deleteKeyCode={["Backspace", "Delete"]}
              colorMode={theme}
              fitView
              fitViewOptions={{ maxZoom: 1 }}
              proOptions={{ hideAttribution: true }}
              defaultEdgeOptions={{ type: "smoothstep" }}
            >
              <Background />
              <Controls />
            </ReactFlow>
          </CanvasContext.Provider>
        </section>
        <aside className="shrink-0 rounded-lg border border-gray-200 bg-white p-3 dark:border-gray-700 dark:bg-gray-900 lg:w-96 lg:overflow-y-auto" aria-label="Details">
          <div role="tablist" aria-label="Panels" className="mb-3 flex flex-wrap gap-1">
            {tabs.map(([value, label]) => (
              <button
                key={value}
                type="button"
                role="tab"
                id={`tab-${value}`}
                aria-selected={tab === value}
                aria-controls="panel"
                className={`rounded-md px-2 py-1 text-sm ${tab === value ? "bg-indigo-100 font-medium text-indigo-900 dark:bg-indigo-900 dark:text-indigo-50" : "text-gray-800 hover:bg-gray-100 dark:text-gray-200 dark:hover:bg-gray-800"}`}
                onClick={() => setTab(value)}
              >
                {label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id="panel" aria-labelledby={`tab-${tab}`}>
            {tab === "step" &&
              (selectedNode ? (
                <StepForm
                  key={selectedNode.id}
                  nodeId={selectedNode.id}
                  typeName={selectedNode.data.nodeType}
                  nodeType={nodeTypes.get(selectedNode.data.nodeType)}
                  config={selectedNode.data.config}
                  extra={selectedNode.data.extra}
                  credentials={credentials.data?.data ?? []}
                  upstream={upstreamOf(selectedNode.id, edges)}
                  otherNodes={nodes.map((n) => n.id).filter((id) => id !== selectedNode.id)}
                  outgoing={edges
                    .filter((e) => e.source === selectedNode.id)
                    .map((e) => ({ id: e.id, target: e.target, when: e.data?.when as string | undefined }))}
                  onRecord={record}
                  onConfig={(config) => updateNode(selectedNode.id, { config })}
                  onExtra={(extra) => updateNode(selectedNode.id, { extra })}
                  onRename={(to) => rename(selectedNode.id, to)}
                  onConnect={(target, when) => connect(selectedNode.id, target, when)}
                  onDisconnect={(id) => {
                    record();
                    setEdges((current) => current.filter((e) => e.id !== id));
                  }}
                  onDelete={() => deleteNode(selectedNode.id)}
                />
              ) : (
                <p className={`text-sm ${mutedText}`}>
                  {nodes.length ? "Select a step to configure it." : "Add steps from the palette, then connect them by dragging from a step's right handle to another's left handle."}
                </p>
              ))}
            {tab === "run" && <RunPanel workflowId={workflowId} definition={definition} savedVersion={workflow?.current_version ?? 0} ensureSaved={ensureSaved} />}
            {tab === "schedule" && (workflowId ? <SchedulePanel workflowId={workflowId} hasSchedule={Boolean(workflow?.cron)} /> : <p className="text-sm">Save the workflow first.</p>)}
            {tab === "webhook" &&
              (workflowId && workflow ? (
                <WebhookPanel workflowId={workflowId} hasWebhook={workflow.has_webhook} onChange={(has) => setWorkflow({ ...workflow, has_webhook: has })} />
              ) : (
                <p className="text-sm">Save the workflow first.</p>
              ))}
            {tab === "versions" &&
              (workflowId ? (
                <VersionsPanel
                  workflowId={workflowId}
                  savedVersion={workflow?.current_version ?? 0}
                  onRestored={() => api<Workflow>(`/workflows/${workflowId}`).then(load).catch((r) => setProblem(describeError(r)))}
                />
              ) : (
                <p className="text-sm">Save the workflow first.</p>
              ))}
          </div>
        </aside>
      </div>
    </div>
  );
}

export function BuilderPage({ workflowId }: { workflowId: string | null }) {
  return (
    <ReactFlowProvider>
      <Builder workflowId={workflowId} />
    </ReactFlowProvider>
  );
}
