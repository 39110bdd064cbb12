import { type ChangeEvent, useMemo, useState } from "react";
import { buttonClass, Card, ErrorNote, Loading, mutedText, PageTitle, StatusBadge, Table, tdClass, thClass } from "../components/ui";
import { api, describeError } from "../lib/api";
import { downloadJson, formatDate, relativeTime } from "../lib/format";
import { Link, navigate } from "../lib/router";
import type { Execution, Page, Template, Workflow } from "../lib/types";
import { useApi } from "../lib/useApi";

function Templates({ onError }: { onError: (message: string) => void }) {
  const { data, error, loading } = useApi<Template[]>("/templates");
  const use = async (template: Template) => {
    try {
      const created = await api<Workflow>(`/templates/${template.id}/instantiate`, { method: "POST", body: {} });
      navigate(`/workflows/${created.id}`);
    } catch (reason) {
      onError(describeError(reason));
    }
  };
  if (loading) return <Loading label="Loading templates" />;
  return (
    <section aria-labelledby="templates-title" className="mb-6">
      <h2 id="templates-title" className="mb-2 text-lg font-medium">Start from a template</h2>
      <ErrorNote>{error}</ErrorNote>
      <ul className="grid gap-3 sm:grid-cols-2">
        {data?.map((template) => (
          <li key={template.id}>
            <Card className="flex h-full flex-col gap-2">
              <h3 className="font-medium">{template.name}</h3>
              <p className={`flex-1 text-sm ${mutedText}`}>{template.description}</p>
              <p className={`text-xs ${mutedText}`}>
                {template.node_count} steps · {template.lane ?? "?"} lane · {template.credit_estimate ?? "?"} credits a run
              </p>
              <div>
                <button type="button" className={buttonClass.secondary} onClick={() => void use(template)} aria-label={`Use template ${template.name}`}>
                  Use template
                </button>
              </div>
            </Card>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function WorkflowsPage() {
  const [query, setQuery] = useState("");
  const [showArchived, setShowArchived] = useState(false);
  const [showTemplates, setShowTemplates] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const params = new URLSearchParams({ limit: "100" });
  if (query) params.set("q", query);
  if (showArchived) params.set("status", "archived");
  const workflows = useApi<Page<Workflow>>(`/workflows?${params}`);
  const runs = useApi<Page<Execution>>("/executions?limit=100");
  const lastRun = useMemo(() => {
    const found = new Map<string, Execution>();
    for (const run of runs.data?.data ?? []) if (!found.has(run.workflow_id)) found.set(run.workflow_id, run);
    return found;
  }, [runs.data]);

  const importFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file) return;
    try {
      const document = JSON.parse(await file.text());
      const body = document.definition ? document : { name: file.name.replace(/\.json$/, ""), ...document };
      const created = await api<Workflow>("/workflows/import", { method: "POST", body });
      navigate(`/workflows/${created.id}`);
    } catch (reason) {
      setProblem(reason instanceof SyntaxError ? `${file.name} is not JSON` : describeError(reason));
    }
  };
  const exportWorkflow = async (workflow: Workflow) => {
    try {
      downloadJson(`${workflow.name.replace(/[^\w.-]+/g, "-")}.json`, await api(`/workflows/${workflow.id}/export`));
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  const remove = async (workflow: Workflow) => {
    if (!window.confirm(`Delete “${workflow.name}” with its versions and runs? This cannot be undone.`)) return;
    try {
      await api(`/workflows/${workflow.id}`, { method: "DELETE" });
      workflows.reload();
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };

  return (
    <>
      <PageTitle
        actions={
          <>
            <Link to="/workflows/new" className={buttonClass.primary}>New workflow</Link>
            <button type="button" className={buttonClass.secondary} aria-expanded={showTemplates} onClick={() => setShowTemplates(!showTemplates)}>
              From a template
            </button>
            <label className={`${buttonClass.secondary} cursor-pointer focus-within:outline-2 focus-within:outline-indigo-500`}>
              Import JSON
              <input type="file" accept="application/json,.json" className="sr-only" onChange={(e) => void importFile(e)} />
            </label>
          </>
        }
      >
        Workflows
      </PageTitle>
      <ErrorNote>{problem}</ErrorNote>
      {showTemplates && <Templates onError={setProblem} />}
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <label className="flex min-w-0 flex-1 items-center gap-2 text-sm">
          <span className={mutedText}>Search</span>
          <input type="search" className="min-w-0 flex-1 rounded-md border border-gray-400 bg-white px-2 py-1.5 text-sm dark:border-gray-500 dark:bg-gray-900" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} />
          Archived
        </label>
      </div>
      <ErrorNote>{workflows.error}</ErrorNote>
      {workflows.loading && !workflows.data ? (
        <Loading />
      ) : workflows.data?.data.length === 0 ? (
        <Card>
          <p className={mutedText}>No workflows yet. Create one, start from a template or import a JSON export.</p>
        </Card>
      ) : (
        <Table label="Workflows">
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>Status</th>
              <th className={`${thClass} hidden sm:table-cell`}>Last run</th>
              <th className={`${thClass} hidden sm:table-cell`}>Next run</th>
              <th className={thClass}><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {workflows.data?.data.map((workflow) => {
              const last = lastRun.get(workflow.id);
              return (
                <tr key={workflow.id} data-testid="workflow-row">
                  <td className={tdClass}>
                    <Link to={`/workflows/${workflow.id}`} className="font-medium text-indigo-700 hover:underline dark:text-indigo-300">
                      {workflow.name}
                    </Link>
                    <div className={`text-xs ${mutedText}`}>v{workflow.current_version}{workflow.description ? ` · ${workflow.description}` : ""}</div>
                  </td>
                  <td className={tdClass}><StatusBadge status={workflow.status} /></td>
                  <td className={`${tdClass} hidden sm:table-cell`}>
                    {last ? (
                      <Link to={`/executions/${last.id}`} className="inline-flex items-center gap-2 hover:underline" title={formatDate(last.queued_at)}>
                        <StatusBadge status={last.status} /> {relativeTime(last.queued_at)}
                      </Link>
                    ) : (
                      <span className={mutedText}>never</span>
                    )}
                  </td>
                  <td className={`${tdClass} hidden sm:table-cell`} title={workflow.cron ?? undefined}>
                    {workflow.schedule_enabled && workflow.next_run_at ? relativeTime(workflow.next_run_at) : <span className={mutedText}>—</span>}
                  </td>
                  <td className={`${tdClass} text-right`}>
                    <div className="flex flex-wrap justify-end gap-1">
                      <button type="button" className={buttonClass.ghost} onClick={() => void exportWorkflow(workflow)} aria-label={`Export ${workflow.name}`}>
                        Export
                      </button>
                      <button type="button" className={buttonClass.ghost} onClick={() => void remove(workflow)} aria-label={`Delete ${workflow.name}`}>
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      )}
    </>
  );
}
