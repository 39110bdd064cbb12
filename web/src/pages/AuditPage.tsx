import { useState } from "react";
import { buttonClass, ErrorNote, Loading, mutedText, PageTitle, Table, tdClass, thClass } from "../components/ui";
import { api, describeError } from "../lib/api";
import { formatDate } from "../lib/format";
import { useApi } from "../lib/useApi";

interface Entry {
  id: string;
  action: string;
  target_type: string;
  target_id: string | null;
  at: string;
}

export function AuditPage() {
  const first = useApi<{ data: Entry[]; next_cursor: string | null }>("/audit?limit=50");
  const [more, setMore] = useState<{ rows: Entry[]; cursor: string | null } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const rows = [...(first.data?.data ?? []), ...(more?.rows ?? [])];
  const cursor = more ? more.cursor : (first.data?.next_cursor ?? null);
  const loadMore = async () => {
    try {
      const page = await api<{ data: Entry[]; next_cursor: string | null }>(`/audit?limit=50&cursor=${encodeURIComponent(cursor!)}`);
      setMore({ rows: [...(more?.rows ?? []), ...page.data], cursor: page.next_cursor });
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <ErrorNote>{first.error ?? problem}</ErrorNote>
      {first.loading && !first.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p className={mutedText}>Nothing recorded yet.</p>
      ) : (
        <Table label="Audit log">
          <thead>
            <tr>
              <th className={thClass}>When</th>
              <th className={thClass}>Action</th>
              <th className={thClass}>Target</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((entry) => (
              <tr key={entry.id}>
                <td className={tdClass}>{formatDate(entry.at)}</td>
                <td className={`${tdClass} font-mono text-xs`}>{entry.action}</td>
                <td className={`${tdClass} break-all text-xs`}>{entry.target_type}{entry.target_id ? ` ${entry.target_id}` : ""}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {cursor && <button type="button" className={`${buttonClass.secondary} mt-3`} onClick={() => void loadMore()}>Load more</button>}
    </>
  );
}
