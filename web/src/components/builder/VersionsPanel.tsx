import { useState } from "react";
import { api, describeError } from "../../lib/api";
import { formatDate } from "../../lib/format";
import type { Page } from "../../lib/types";
import { useApi } from "../../lib/useApi";
import { buttonClass, ErrorNote, Loading, mutedText } from "../ui";

interface Version {
  version: number;
  created_at: string;
  current: boolean;
  node_count: number;
}

export function VersionsPanel({ workflowId, savedVersion, onRestored }: { workflowId: string; savedVersion: number; onRestored: () => void }) {
  const { data, error, loading } = useApi<Page<Version>>(`/workflows/${workflowId}/versions?limit=100&v=${savedVersion}`);
  const [problem, setProblem] = useState<string | null>(null);
  const restore = async (version: number) => {
    try {
      await api(`/workflows/${workflowId}/rollback`, { method: "POST", body: { version } });
      onRestored();
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <div className="space-y-3">
      <h2 className="text-base font-semibold">Versions</h2>
      <p className={`text-sm ${mutedText}`}>Every save makes a version. Restoring one saves a copy of it as the newest version.</p>
      <ErrorNote>{error ?? problem}</ErrorNote>
      {loading && !data && <Loading />}
      <ol className="space-y-1">
        {data?.data.map((version) => (
          <li key={version.version} className="flex flex-wrap items-center justify-between gap-2 rounded-md border border-gray-200 px-2 py-1 text-sm dark:border-gray-700">
            <span>
              <span className="font-medium">v{version.version}</span>
              {version.current && " (current)"} · {version.node_count} steps
              <span className={`block text-xs ${mutedText}`}>{formatDate(version.created_at)}</span>
            </span>
            {!version.current && (
              <button type="button" className={buttonClass.secondary} onClick={() => void restore(version.version)} aria-label={`Restore version ${version.version}`}>
                Restore
              </button>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
