import { type FormEvent, useState } from "react";
import { buttonClass, Card, ErrorNote, inputClass, Loading, mutedText, OnceSecret, PageTitle, Table, tdClass, thClass } from "../components/ui";
import { api, describeError } from "../lib/api";
import { formatDate } from "../lib/format";
import type { Page } from "../lib/types";
import { useApi } from "../lib/useApi";

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function ApiKeysPage() {
  const { data, error, loading, reload } = useApi<Page<ApiKey>>("/api-keys");
  const [name, setName] = useState("");
  const [scope, setScope] = useState("run");
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const create = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const key = await api<ApiKey & { key: string }>("/api-keys", { method: "POST", body: { name, scope } });
      setCreated({ name: key.name, key: key.key });
      setName("");
      reload();
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  const revoke = async (key: ApiKey) => {
    if (!window.confirm(`Revoke ${key.name}? Requests with it fail from now on.`)) return;
    try {
      await api(`/api-keys/${key.id}`, { method: "DELETE" });
      reload();
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <>
      <PageTitle>API keys</PageTitle>
      <Card className="mb-4">
        <form onSubmit={create} className="flex flex-wrap items-end gap-3">
          <label className="block min-w-0 flex-1 text-sm">
            Name
            <input className={inputClass} required value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" />
          </label>
          <label className="block text-sm">
            Scope
            <select className={inputClass} value={scope} onChange={(e) => setScope(e.target.value)}>
              <option value="read">read</option>
              <option value="run">run (read and start runs)</option>
              <option value="full">full</option>
            </select>
          </label>
          <button type="submit" className={buttonClass.primary}>Create key</button>
        </form>
      </Card>
      {created && <div className="mb-4"><OnceSecret title={`Your new key “${created.name}”`} value={created.key} /></div>}
      <ErrorNote>{error ?? problem}</ErrorNote>
      {loading && !data ? (
        <Loading />
      ) : data?.data.length ? (
        <Table label="API keys">
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>Key</th>
              <th className={thClass}>Scope</th>
              <th className={`${thClass} hidden sm:table-cell`}>Last used</th>
              <th className={thClass}><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((key) => (
              <tr key={key.id}>
                <td className={tdClass}>{key.name}</td>
                <td className={`${tdClass} font-mono text-xs`}>{key.prefix}…</td>
                <td className={tdClass}>{key.scope}</td>
                <td className={`${tdClass} hidden sm:table-cell`}>{formatDate(key.last_used_at)}</td>
                <td className={`${tdClass} text-right`}>
                  {key.revoked_at ? (
                    <span className={`text-xs ${mutedText}`}>revoked {formatDate(key.revoked_at)}</span>
                  ) : (
                    <button type="button" className={buttonClass.ghost} onClick={() => void revoke(key)} aria-label={`Revoke ${key.name}`}>Revoke</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : (
        <p className={mutedText}>No keys yet.</p>
      )}
    </>
  );
}
