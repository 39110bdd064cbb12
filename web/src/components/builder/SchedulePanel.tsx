import { useEffect, useMemo, useState } from "react";
import { api, ApiError, describeError } from "../../lib/api";
import { CronError, describeCron } from "../../lib/cron";
import { formatDate } from "../../lib/format";
import type { Schedule } from "../../lib/types";
import { buttonClass, ErrorNote, inputClass, mutedText, Notice } from "../ui";

function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf ? ["UTC", ...intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")] : ["UTC"];
}

export function SchedulePanel({ workflowId, hasSchedule }: { workflowId: string; hasSchedule: boolean }) {
  const zones = useMemo(timeZones, []);
  const [saved, setSaved] = useState<Schedule | null>(null);
  const [cron, setCron] = useState("0 9 * * 1-5");
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const [misfire, setMisfire] = useState("skip");
  const [enabled, setEnabled] = useState(true);
  const [fireTimes, setFireTimes] = useState<string[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    if (!hasSchedule) return;
    api<Schedule>(`/workflows/${workflowId}/schedule`)
      .then((schedule) => {
        setSaved(schedule);
        setCron(schedule.cron);
        setTimezone(schedule.timezone);
        setMisfire(schedule.misfire_policy);
        setEnabled(schedule.enabled);
        setFireTimes(schedule.next_fire_times);
      })
      .catch((reason) => {
        if (!(reason instanceof ApiError && reason.status === 404)) setProblem(describeError(reason));
      });
  }, [workflowId, hasSchedule]);

  let reading: string;
  let readable = true;
  try {
    reading = describeCron(cron);
  } catch (error) {
    readable = false;
    reading = error instanceof CronError ? error.message : String(error);
  }

  const body = { cron, timezone, misfire_policy: misfire, enabled };
  useEffect(() => {
    if (!readable) return;
    const timer = setTimeout(() => {
      api<Schedule>(`/workflows/${workflowId}/schedule/preview`, { method: "POST", body: { cron, timezone, misfire_policy: misfire, enabled } })
        .then((preview) => {
          setFireTimes(preview.next_fire_times);
          setProblem(null);
        })
        .catch((reason) => setProblem(describeError(reason)));
    }, 600);
    return () => clearTimeout(timer);
  }, [workflowId, cron, timezone, readable, misfire, enabled]);

  const save = async () => {
    try {
      const schedule = await api<Schedule>(`/workflows/${workflowId}/schedule`, { method: "PUT", body });
      setSaved(schedule);
      setFireTimes(schedule.next_fire_times);
      setMessage(`Saved: ${schedule.description}`);
      setProblem(null);
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  const remove = async () => {
    try {
      await api(`/workflows/${workflowId}/schedule`, { method: "DELETE" });
      setSaved(null);
      setMessage("Schedule removed");
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };

  return (
    <div className="space-y-3">
      <h2 className="text-base font-semibold">Schedule</h2>
      <label className="block text-sm">
        Cron expression
        <input className={`${inputClass} font-mono`} value={cron} aria-describedby="cron-reading" onChange={(e) => setCron(e.target.value)} />
      </label>
      <p id="cron-reading" data-testid="cron-reading" className={`text-sm ${readable ? "" : "text-red-800 dark:text-red-200"}`}>
        {reading}
      </p>
      <label className="block text-sm">
        Time zone
        <select className={inputClass} value={timezone} onChange={(e) => setTimezone(e.target.value)}>
          {zones.map((zone) => <option key={zone}>{zone}</option>)}
        </select>
      </label>
      <label className="block text-sm">
        When a fire time was missed
        <select className={inputClass} value={misfire} onChange={(e) => setMisfire(e.target.value)}>
          <option value="skip">skip it</option>
          <option value="run_once">run once</option>
        </select>
      </label>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      {fireTimes.length > 0 && (
        <div>
          <h3 className="text-sm font-medium">Next fire times</h3>
          <ol className={`list-decimal pl-5 text-sm ${mutedText}`} data-testid="fire-times">
            {fireTimes.map((time) => <li key={time}>{formatDate(time)}</li>)}
          </ol>
        </div>
      )}
      <ErrorNote>{problem}</ErrorNote>
      {message && <Notice>{message}</Notice>}
      <div className="flex flex-wrap gap-2">
        <button type="button" className={buttonClass.primary} disabled={!readable} onClick={() => void save()}>Save schedule</button>
        {saved && <button type="button" className={buttonClass.secondary} onClick={() => void remove()}>Remove</button>}
      </div>
    </div>
  );
}
