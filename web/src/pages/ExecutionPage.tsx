import { Background, Controls, type Edge, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ArtifactImage, artifactIds } from "../components/ArtifactImage";
import { CanvasContext } from "../components/builder/context";
import { NODE_COMPONENTS, type StepNodeType } from "../components/builder/StepNode";
import { buttonClass, Card, ErrorNote, JsonBlock, Loading, mutedText, StatusBadge } from "../components/ui";
import { api, apiUrl, authHeaders, describeError } from "../lib/api";
import { formatDate, formatDuration } from "../lib/format";
import { definitionToGraph } from "../lib/graph";
import { useNodeTypes } from "../lib/nodeTypes";
import { Link, navigate } from "../lib/router";
import { openEventStream } from "../lib/sse";
import { useTheme } from "../lib/theme";
import type { Definition, ExecutionDetail, ExecutionEvent, StepRun } from "../lib/types";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const EVENT_STATUS: Record<string, string> = {
  step_started: "running",
  step_succeeded: "succeeded",
  step_failed: "failed",
  step_skipped: "skipped",
};

interface StepView {
  id: string;
  type: string;
  status: string;
  run: StepRun | undefined;
  durationMs: number | null;
  attempts: number | null;
}

function StepRow({ step, logs, open, onToggle }: { step: StepView; logs: ExecutionEvent[]; open: boolean; onToggle: () => void }) {
  const images = step.run ? artifactIds(step.run.output) : [];
  return (
    <li data-testid={`step-row-${step.id}`} data-status={step.status} className="rounded-md border border-gray-200 dark:border-gray-700">
      <button
        type="button"
        className="flex w-full flex-wrap items-center gap-2 px-3 py-2 text-left text-sm hover:bg-gray-50 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-gray-800"
        aria-expanded={open}
        aria-controls={`step-detail-${step.id}`}
        onClick={onToggle}
      >
        <StatusBadge status={step.status} />
        <span className="font-medium">{step.id}</span>
        <span className={`text-xs ${mutedText}`}>{step.type}</span>
        <span className={`ml-auto text-xs ${mutedText}`}>
          {formatDuration(step.run?.duration_ms ?? step.durationMs)}
          {(step.run?.attempt ?? step.attempts ?? 1) > 1 ? ` · ${step.run?.attempt ?? step.attempts} attempts` : ""}
          {step.run?.credits ? ` · ${step.run.credits} credits` : ""}
        </span>
      </button>
      {open && (
        <div id={`step-detail-${step.id}`} className="space-y-2 border-t border-gray-200 p-3 dark:border-gray-700">
          {step.run?.error && <ErrorNote>{step.run.error}</ErrorNote>}
          <p className={`text-xs ${mutedText}`}>
            Started {formatDate(step.run?.started_at)} · finished {formatDate(step.run?.finished_at)}
          </p>
          <div className="grid gap-2 md:grid-cols-2">
            <div>
              <h4 className="mb-1 text-xs font-semibold uppercase">Input</h4>
              <JsonBlock value={step.run?.input} label={`Input of ${step.id}`} />
            </div>
            <div>
              <h4 className="mb-1 text-xs font-semibold uppercase">Output</h4>
              <div data-testid={`step-output-${step.id}`}>
                <JsonBlock value={step.run?.output} label={`Output of ${step.id}`} />
              </div>
            </div>
          </div>
          {images.map((id) => (
            <ArtifactImage key={id} artifactId={id} alt={`Screenshot from step ${step.id}`} />
          ))}
          {logs.length > 0 && (
            <div>
              <h4 className="mb-1 text-xs font-semibold uppercase">Logs</h4>
              <ul className="space-y-0.5 font-mono text-xs">
                {logs.map((log) => (
                  <li key={log.seq}>
                    <span className={mutedText}>{new Date(log.at).toLocaleTimeString()}</span> [{String(log.payload.level ?? "info")}] {String(log.payload.message ?? "")}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </li>
  );
}

function RunConsole({ executionId }: { executionId: string }) {
  const types = useNodeTypes();
  const [theme] = useTheme();
  const [detail, setDetail] = useState<ExecutionDetail | null>(null);
  const [workflowName, setWorkflowName] = useState<string | null>(null);
  const [definition, setDefinition] = useState<Definition | null>(null);
  const [events, setEvents] = useState<ExecutionEvent[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [live, setLive] = useState(false);
  const finished = useRef(false);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const fetchDetail = useCallback(async () => {
    try {
      const value = await api<ExecutionDetail>(`/executions/${executionId}`);
      setDetail(value);
      if (FINISHED.has(value.status)) finished.current = true;
      return value;
    } catch (reason) {
      setProblem(describeError(reason));
      return null;
    }
  }, [executionId]);

  const refetchSoon = useCallback(() => {
    if (refetchTimer.current) return;
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = null;
      void fetchDetail();
    }, 400);
  }, [fetchDetail]);

  useEffect(() => {
    let close: (() => void) | null = null;
    fetchDetail().then((first) => {
      if (!first) return;
      api<{ name: string }>(`/workflows/${first.workflow_id}`).then((w) => setWorkflowName(w.name)).catch(() => {});
      api<{ definition: Definition }>(`/workflows/${first.workflow_id}/versions/${first.version}`)
        .then((v) => setDefinition(v.definition))
        .catch(() => {});
      setLive(true);
      close = openEventStream({
        url: apiUrl(`/executions/${executionId}/stream`),
        headers: authHeaders,
        done: () => finished.current,
        onMessage: (message) => {
          const event = JSON.parse(message.data) as ExecutionEvent;
          setEvents((current) => (current.some((e) => e.seq === event.seq) ? current : [...current, event]));
          if (event.type === "run_finished") {
            finished.current = true;
            setLive(false);
            void fetchDetail();
          } else if (event.type !== "step_started" && event.type !== "log") refetchSoon();
        },
        onError: (error) => setProblem(`Live updates interrupted: ${describeError(error)}; reconnecting`),
      });
    });
    return () => {
      close?.();
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
    };
  }, [executionId, fetchDetail, refetchSoon]);

  const steps = useMemo(() => {
    const views = new Map<string, StepView>();
    for (const run of detail?.steps ?? [])
      views.set(run.node_id, { id: run.node_id, type: run.node_type, status: run.status, run, durationMs: run.duration_ms, attempts: run.attempt });
    for (const event of events) {
      const status = EVENT_STATUS[event.type];
      const id = event.payload.node_id as string | undefined;
      if (!status || !id) continue;
      const known = views.get(id);
      const settled = known?.run && known.run.status !== "running" && known.run.status !== "pending";
      views.set(id, {
        id,
        type: String(event.payload.node_type ?? known?.type ?? ""),
        status: settled ? known!.status : status,
        run: known?.run,
        durationMs: (event.payload.duration_ms as number | undefined) ?? known?.durationMs ?? null,
        attempts: (event.payload.attempts as number | undefined) ?? known?.attempts ?? null,
      });
    }
    for (const node of definition?.nodes ?? [])
      if (!views.has(node.id)) views.set(node.id, { id: node.id, type: node.type, status: "pending", run: undefined, durationMs: null, attempts: null });
    return [...views.values()];
  }, [detail, events, definition]);

  const statuses = useMemo(() => new Map(steps.map((s) => [s.id, s.status])), [steps]);
  const graph = useMemo(() => (definition ? definitionToGraph(definition) : null), [definition]);
  const canvasInfo = useMemo(
    () => ({ nodeTypes: new Map((types ?? []).map((t) => [t.name, t])), issues: new Map(), statuses }),
    [types, statuses],
  );

  const act = async (action: "cancel" | "retry" | "resume") => {
    try {
      const answer = await api<{ execution_id?: string }>(`/executions/${executionId}/${action}`, { method: "POST" });
      if (answer?.execution_id) navigate(`/executions/${answer.execution_id}`);
      else void fetchDetail();
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };

  if (!detail) return problem ? <ErrorNote>{problem}</ErrorNote> : <Loading label="Loading the run" />;
  const done = FINISHED.has(detail.status);
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        <h1 className="text-xl font-semibold">
          Run of{" "}
          <Link to={`/workflows/${detail.workflow_id}`} className="text-indigo-700 hover:underline dark:text-indigo-300">
            {workflowName ?? "workflow"}
          </Link>
        </h1>
        <span data-testid="run-status"><StatusBadge status={detail.status} /></span>
        {live && !done && (
          <span className={`text-xs ${mutedText}`} aria-live="polite">
            {detail.cancel_requested ? "cancelling after the current step…" : "live"}
          </span>
        )}
        <div className="ml-auto flex flex-wrap gap-2">
          {!done && <button type="button" className={buttonClass.secondary} onClick={() => void act("cancel")} disabled={detail.cancel_requested}>Cancel</button>}
          {done && <button type="button" className={buttonClass.secondary} onClick={() => void act("retry")}>Retry</button>}
          {(detail.status === "failed" || detail.status === "cancelled") && (
            <button type="button" className={buttonClass.primary} onClick={() => void act("resume")}>Resume from failed step</button>
          )}
        </div>
      </div>
      <p className={`text-sm ${mutedText}`}>
        Version {detail.version} · {detail.trigger} · {detail.lane} lane · queued {formatDate(detail.queued_at)} · {formatDuration(detail.duration_ms)} ·{" "}
        {detail.credits_used} credits
        {detail.parent_execution_id && (
          <>
            {" "}· from <Link to={`/executions/${detail.parent_execution_id}`} className="underline">an earlier run</Link>
          </>
        )}
      </p>
      {problem && <ErrorNote>{problem}</ErrorNote>}
      {detail.error && <ErrorNote>{detail.error}</ErrorNote>}
      <div className="grid gap-3 lg:grid-cols-2">
        {graph && (
          <section aria-label="Run graph" className="h-72 overflow-hidden rounded-lg border border-gray-200 dark:border-gray-700 lg:h-[28rem]">
            <CanvasContext.Provider value={canvasInfo}>
              <ReactFlow<StepNodeType, Edge>
                nodes={graph.nodes as StepNodeType[]}
                edges={graph.edges as Edge[]}
                nodeTypes={NODE_COMPONENTS}
                nodesDraggable={false}
                nodesConnectable={false}
                onNodeClick={(_, node) => toggle(node.id)}
                colorMode={theme}
                fitView
                fitViewOptions={{ maxZoom: 1 }}
                proOptions={{ hideAttribution: true }}
              >
                <Background />
                <Controls showInteractive={false} />
              </ReactFlow>
            </CanvasContext.Provider>
          </section>
        )}
        <section aria-labelledby="steps-title" className="space-y-2">
          <h2 id="steps-title" className="text-base font-semibold">Steps</h2>
          <ol className="space-y-2" aria-live="polite">
            {steps.map((step) => (
              <StepRow
                key={step.id}
                step={step}
                open={open.has(step.id)}
                onToggle={() => toggle(step.id)}
                logs={events.filter((e) => e.type === "log" && e.payload.node_id === step.id)}
              />
            ))}
          </ol>
        </section>
      </div>
      <Card>
        <div className="grid gap-3 md:grid-cols-2">
          <div>
            <h2 className="mb-1 text-sm font-semibold">Run input</h2>
            <JsonBlock value={detail.input} label="Run input" />
          </div>
          <div>
            <h2 className="mb-1 text-sm font-semibold">Run output</h2>
            <JsonBlock value={detail.output ?? undefined} label="Run output" />
          </div>
        </div>
      </Card>
    </div>
  );
}

export function ExecutionPage({ executionId }: { executionId: string }) {
  return (
    <ReactFlowProvider>
      <RunConsole executionId={executionId} />
    </ReactFlowProvider>
  );
}
