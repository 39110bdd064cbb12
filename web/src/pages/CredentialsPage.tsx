import { type FormEvent, useState } from "react";
import { buttonClass, Card, ErrorNote, inputClass, Loading, mutedText, Notice, PageTitle, Table, tdClass, thClass } from "../components/ui";
import { api, describeError } from "../lib/api";
import { formatDate } from "../lib/format";
import type { Page } from "../lib/types";
import { useApi } from "../lib/useApi";

interface Credential {
  name: string;
  type: string;
  backend: string;
  created_at: string;
  updated_at: string;
}

interface ValueField {
  name: string;
  secret?: boolean;
  optional?: boolean;
  number?: boolean;
  options?: string[];
}

/** The value fields of each credential type (shared/vault/types.py). */
const TYPES: Record<string, ValueField[]> = {
  bearer: [{ name: "token", secret: true }],
  basic: [{ name: "username" }, { name: "password", secret: true }],
  header: [{ name: "name" }, { name: "value", secret: true }],
  query: [{ name: "name" }, { name: "value", secret: true }],
  api_key: [{ name: "key", secret: true }],
  smtp: [
    { name: "host" },
    { name: "port", number: true },
    { name: "username" },
    { name: "password", secret: true },
    { name: "security", options: ["starttls", "ssl", "none"] },
    { name: "from_address", optional: true },
  ],
  openai: [{ name: "api_key", secret: true }, { name: "base_url", optional: true }, { name: "organization", optional: true }],
  twilio: [{ name: "account_sid" }, { name: "auth_token", secret: true }, { name: "base_url", optional: true }],
  slack_webhook: [{ name: "url", secret: true }],
  hubspot: [{ name: "token", secret: true }, { name: "base_url", optional: true }],
  notion: [{ name: "token", secret: true }, { name: "base_url", optional: true }],
  odoo: [{ name: "url" }, { name: "database" }, { name: "username" }, { name: "password", secret: true }],
  brightdata: [{ name: "token", secret: true }, { name: "base_url", optional: true }],
  postgres: [
    { name: "host" },
    { name: "port", number: true, optional: true },
    { name: "database" },
    { name: "user" },
    { name: "password", secret: true, optional: true },
    { name: "sslmode", optional: true, options: ["", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"] },
  ],
  browser_cdp: [{ name: "ws_endpoint", secret: true }],
};

function CredentialForm({ editing, onDone }: { editing: Credential | null; onDone: (message: string) => void }) {
  const [name, setName] = useState(editing?.name ?? "");
  const [type, setType] = useState(editing?.type ?? "bearer");
  const [values, setValues] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const fields = TYPES[type] ?? [];
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: Record<string, unknown> = {};
    for (const field of fields) {
      const value = values[field.name] ?? (field.options ? field.options[0] : "");
      if (value === "" && field.optional) continue;
      body[field.name] = field.number ? Number(value) : value;
    }
    try {
      if (editing) await api(`/credentials/${encodeURIComponent(editing.name)}`, { method: "PUT", body: { type, values: body } });
      else await api("/credentials", { method: "POST", body: { name, type, values: body } });
      setValues({});
      onDone(editing ? `Replaced the values of ${editing.name}` : `Stored ${name}`);
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <form onSubmit={submit} className="space-y-3" aria-label={editing ? `Replace ${editing.name}` : "New credential"}>
      <h2 className="font-medium">{editing ? `Replace the values of ${editing.name}` : "New credential"}</h2>
      <p className={`text-sm ${mutedText}`}>Values are write-only: they are encrypted and never shown again, not even to you.</p>
      <div className="grid gap-3 sm:grid-cols-2">
        {!editing && (
          <label className="block text-sm">
            Name
            <input className={inputClass} value={name} required onChange={(e) => setName(e.target.value)} placeholder="github-token" />
          </label>
        )}
        <label className="block text-sm">
          Type
          <select className={inputClass} value={type} onChange={(e) => { setType(e.target.value); setValues({}); }}>
            {Object.keys(TYPES).map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        {fields.map((field) => (
          <label key={field.name} className="block text-sm">
            {field.name}{field.optional ? " (optional)" : ""}
            {field.options ? (
              <select className={inputClass} value={values[field.name] ?? field.options[0]} onChange={(e) => setValues({ ...values, [field.name]: e.target.value })}>
                {field.options.map((o) => <option key={o}>{o}</option>)}
              </select>
            ) : (
              <input
                className={inputClass}
                type={field.secret ? "password" : field.number ? "number" : "text"}
                autoComplete="off"
                required={!field.optional}
                value={values[field.name] ?? ""}
                onChange={(e) => setValues({ ...values, [field.name]: e.target.value })}
              />
            )}
          </label>
        ))}
      </div>
      <ErrorNote>{problem}</ErrorNote>
      <button type="submit" className={buttonClass.primary}>{editing ? "Replace values" : "Store credential"}</button>
    </form>
  );
}

export function CredentialsPage() {
  const { data, error, loading, reload } = useApi<Page<Credential>>("/credentials");
  const [editing, setEditing] = useState<Credential | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const remove = async (credential: Credential) => {
    if (!window.confirm(`Delete the credential ${credential.name}? Steps that use it will fail.`)) return;
    try {
      await api(`/credentials/${encodeURIComponent(credential.name)}`, { method: "DELETE" });
      setMessage(`Deleted ${credential.name}`);
      reload();
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <>
      <PageTitle>Credentials</PageTitle>
      {message && <Notice>{message}</Notice>}
      <ErrorNote>{error ?? problem}</ErrorNote>
      <Card className="my-4">
        <CredentialForm key={editing?.name ?? "new"} editing={editing} onDone={(text) => { setMessage(text); setEditing(null); reload(); }} />
        {editing && <button type="button" className={`${buttonClass.ghost} mt-2`} onClick={() => setEditing(null)}>Cancel</button>}
      </Card>
      {loading && !data ? (
        <Loading />
      ) : data?.data.length ? (
        <Table label="Credentials">
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>Type</th>
              <th className={`${thClass} hidden sm:table-cell`}>Updated</th>
              <th className={thClass}><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((credential) => (
              <tr key={credential.name}>
                <td className={`${tdClass} font-mono`}>{credential.name}</td>
                <td className={tdClass}>{credential.type}</td>
                <td className={`${tdClass} hidden sm:table-cell`}>{formatDate(credential.updated_at)}</td>
                <td className={`${tdClass} text-right`}>
                  <div className="flex flex-wrap justify-end gap-1">
                    <button type="button" className={buttonClass.ghost} onClick={() => setEditing(credential)} aria-label={`Replace ${credential.name}`}>Replace</button>
                    <button type="button" className={buttonClass.ghost} onClick={() => void remove(credential)} aria-label={`Delete ${credential.name}`}>Delete</button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : (
        <p className={mutedText}>No credentials yet.</p>
      )}
    </>
  );
}
