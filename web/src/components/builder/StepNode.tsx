import { Handle, type Node, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";
import type { StepData } from "../../lib/graph";
import { useCanvasInfo } from "./context";

export type StepNodeType = Node<StepData, "step">;

const STATUS_RING: Record<string, string> = {
  succeeded: "border-green-600 bg-green-50 dark:bg-green-950",
  failed: "border-red-600 bg-red-50 dark:bg-red-950",
  running: "border-blue-600 bg-blue-50 dark:bg-blue-950",
  skipped: "border-gray-400 border-dashed",
};

function StepNodeView({ id, data, selected }: NodeProps<StepNodeType>) {
  const { nodeTypes, issues, statuses } = useCanvasInfo();
  const type = nodeTypes.get(data.nodeType);
  const problems = issues.get(id) ?? [];
  const status = statuses?.get(id);
  const branches = type?.branches ?? [];
  const frame = problems.length
    ? "border-red-600 bg-red-50 dark:bg-red-950"
    : status
      ? (STATUS_RING[status] ?? "border-gray-300 dark:border-gray-600")
      : "border-gray-300 dark:border-gray-600";
  return (
    <div
      data-testid={`step-${id}`}
      data-status={status ?? ""}
      data-invalid={problems.length ? "true" : undefined}
      className={`w-48 rounded-lg border-2 bg-white px-3 py-2 text-left text-gray-900 shadow-sm dark:bg-gray-900 dark:text-gray-100 ${frame} ${selected ? "ring-2 ring-indigo-500" : ""}`}
    >
      <Handle type="target" position={Position.Left} />
      <div className="truncate text-sm font-semibold">{id}</div>
      <div className="truncate text-xs text-gray-700 dark:text-gray-300">
        {data.nodeType}
        {status ? ` · ${status}` : ""}
      </div>
      {problems.length > 0 && (
        <ul className="mt-1 list-disc pl-4 text-xs text-red-800 dark:text-red-200" data-testid={`issues-${id}`}>
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
      {branches.length === 0 ? (
        <Handle type="source" position={Position.Right} />
      ) : (
        branches.map((branch, index) => {
          const top = `${((index + 1) * 100) / (branches.length + 1)}%`;
          return (
            <div key={branch}>
              <Handle type="source" id={branch} position={Position.Right} style={{ top }} />
              <span className="pointer-events-none absolute right-3 -translate-y-1/2 text-[10px] font-medium text-gray-700 dark:text-gray-300" style={{ top }}>
                {branch}
              </span>
            </div>
          );
        })
      )}
    </div>
  );
}

export const StepNode = memo(StepNodeView);
export const NODE_COMPONENTS = { step: StepNode };
