import { useState } from "react";
import { buttonClass, ErrorNote, Loading, mutedText, PageTitle, StatusBadge, Table, tdClass, thClass } from "../components/ui";
import { api, describeError } from "../lib/api";
import { formatDate, formatDuration } from "../lib/format";
import { Link } from "../lib/router";
import type { Execution, Page } from "../lib/types";
import { useApi } from "../lib/useApi";

export function ExecutionsPage() {
  const [status, setStatus] = useState("");
  const first = useApi<Page<Execution>>(`/executions?limit=50${status ? `&status=${status}` : ""}`);
  const [more, setMore] = useState<{ status: string; rows: Execution[]; cursor: string | null } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const extra = more?.status === status ? more : null;
  const rows = [...(first.data?.data ?? []), ...(extra?.rows ?? [])];
  const cursor = extra ? extra.cursor : (first.data?.next_cursor ?? null);
  const loadMore = async () => {
    try {
      const page = await api<Page<Execution>>(`/executions?limit=50&cursor=${encodeURIComponent(cursor!)}${status ? `&status=${status}` : ""}`);
      setMore({ status, rows: [...(extra?.rows ?? []), ...page.data], cursor: page.next_cursor });
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <>
      <PageTitle>Runs</PageTitle>
      <label className="mb-3 flex items-center gap-2 text-sm">
        Status
        <select className="rounded-md border border-gray-400 bg-white px-2 py-1 dark:border-gray-500 dark:bg-gray-900" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any</option>
          {["queued", "running", "succeeded", "failed", "cancelled"].map((s) => <option key={s}>{s}</option>)}
        </select>
      </label>
      <ErrorNote>{first.error ?? problem}</ErrorNote>
      {first.loading && !first.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p className={mutedText}>No runs yet.</p>
      ) : (
        <Table label="Runs">
          <thead>
            <tr>
              <th className={thClass}>Run</th>
              <th className={thClass}>Status</th>
              <th className={`${thClass} hidden sm:table-cell`}>Trigger</th>
              <th className={`${thClass} hidden sm:table-cell`}>Duration</th>
              <th className={`${thClass} hidden sm:table-cell`}>Credits</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((run) => (
              <tr key={run.id}>
                <td className={tdClass}>
                  <Link to={`/executions/${run.id}`} className="text-indigo-700 hover:underline dark:text-indigo-300">{formatDate(run.queued_at)}</Link>
                </td>
                <td className={tdClass}><StatusBadge status={run.status} /></td>
                <td className={`${tdClass} hidden sm:table-cell`}>{run.trigger}</td>
                <td className={`${tdClass} hidden sm:table-cell`}>{formatDuration(run.duration_ms)}</td>
                <td className={`${tdClass} hidden sm:table-cell`}>{run.credits_used}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {cursor && <button type="button" className={`${buttonClass.secondary} mt-3`} onClick={() => void loadMore()}>Load more</button>}
    </>
  );
}
