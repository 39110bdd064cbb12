import { Card, ErrorNote, Loading, mutedText, PageTitle, Table, tdClass, thClass } from "../components/ui";
import { useApi } from "../lib/useApi";

interface Usage {
  credits_balance: number;
  credits_used_30d: number;
  runs_30d: number;
  since: string;
  by_day: { day: string; runs: number; succeeded: number; failed: number; credits: number }[];
}

export function UsagePage() {
  const { data, error, loading } = useApi<Usage>("/me/usage");
  const busiest = Math.max(1, ...(data?.by_day ?? []).map((d) => d.runs));
  return (
    <>
      <PageTitle>Usage and credits</PageTitle>
      <ErrorNote>{error}</ErrorNote>
      {loading && !data && <Loading />}
      {data && (
        <div className="space-y-4">
          <div className="grid gap-3 sm:grid-cols-3">
            {[
              ["Credit balance", data.credits_balance],
              ["Credits used (30 days)", data.credits_used_30d],
              ["Runs (30 days)", data.runs_30d],
            ].map(([label, value]) => (
              <Card key={label}>
                <p className={`text-sm ${mutedText}`}>{label}</p>
                <p className="text-2xl font-semibold" data-testid={`usage-${String(label).split(" ")[0].toLowerCase()}`}>{value}</p>
              </Card>
            ))}
          </div>
          <Card>
            <h2 className="mb-2 font-medium">Runs per day</h2>
            <div className="flex h-32 items-end gap-0.5" aria-hidden="true">
              {data.by_day.map((day) => (
                <div key={day.day} className="flex-1 bg-indigo-600 dark:bg-indigo-400" style={{ height: `${(day.runs / busiest) * 100}%`, minHeight: day.runs ? 2 : 0 }} title={`${day.day}: ${day.runs} runs`} />
              ))}
            </div>
          </Card>
          <Table label="Usage per day">
            <thead>
              <tr>
                <th className={thClass}>Day</th>
                <th className={thClass}>Runs</th>
                <th className={thClass}>Succeeded</th>
                <th className={thClass}>Failed</th>
                <th className={thClass}>Credits</th>
              </tr>
            </thead>
            <tbody>
              {data.by_day.filter((d) => d.runs || d.credits).map((day) => (
                <tr key={day.day}>
                  <td className={tdClass}>{day.day}</td>
                  <td className={tdClass}>{day.runs}</td>
                  <td className={tdClass}>{day.succeeded}</td>
                  <td className={tdClass}>{day.failed}</td>
                  <td className={tdClass}>{day.credits}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        </div>
      )}
    </>
  );
}
