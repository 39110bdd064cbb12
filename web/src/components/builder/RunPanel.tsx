import { useEffect, useState } from "react";
import { api, describeError } from "../../lib/api";
import { inputKeys } from "../../lib/graph";
import { navigate } from "../../lib/router";
import type { Definition, Preview } from "../../lib/types";
import { buttonClass, ErrorNote, inputClass, mutedText } from "../ui";

/** A typed value: JSON when it parses (numbers, true, lists), else the text itself. */
function typed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function RunPanel({
  workflowId,
  definition,
  savedVersion,
  ensureSaved,
}: {
  workflowId: string | null;
  definition: Definition;
  savedVersion: number;
  ensureSaved: () => Promise<string | null>;
}) {
  const keys = inputKeys(definition);
  const [values, setValues] = useState<Record<string, string>>({});
  const [raw, setRaw] = useState(false);
  const [rawText, setRawText] = useState("{}");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!workflowId) return;
    api<Preview>(`/workflows/${workflowId}/preview`, { method: "POST", body: { input: {} } })
      .then(setPreview)
      .catch((reason) => setProblem(describeError(reason)));
  }, [workflowId, savedVersion]);

  const input = (): Record<string, unknown> | null => {
    if (raw) {
      try {
        const parsed = JSON.parse(rawText || "{}");
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
      } catch {
        /* reported below */
      }
      setProblem("The input must be a JSON object");
      return null;
    }
    return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "").map(([k, v]) => [k, typed(v)]));
  };

  const run = async () => {
    const body = input();
    if (!body) return;
    setBusy(true);
    setProblem(null);
    try {
      const id = await ensureSaved();
      if (!id) return;
      const accepted = await api<{ execution_id: string }>(`/workflows/${id}/runs`, { method: "POST", body: { input: body } });
      navigate(`/executions/${accepted.execution_id}`);
    } catch (reason) {
      setProblem(describeError(reason));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="space-y-3">
      <h2 className="text-base font-semibold">Run</h2>
      {!raw &&
        (keys.length ? (
          keys.map((key) => (
            <label key={key} className="block text-sm">
              <span className="font-mono">input.{key}</span>
              <input className={inputClass} value={values[key] ?? ""} onChange={(e) => setValues({ ...values, [key]: e.target.value })} />
            </label>
          ))
        ) : (
          <p className={`text-sm ${mutedText}`}>This workflow reads no input fields.</p>
        ))}
      {raw && (
        <label className="block text-sm">
          Input (JSON object)
          <textarea className={`${inputClass} font-mono`} rows={6} value={rawText} onChange={(e) => setRawText(e.target.value)} />
        </label>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={raw} onChange={(e) => {
          if (e.target.checked) setRawText(JSON.stringify(input() ?? {}, null, 2));
          setRaw(e.target.checked);
        }} />
        Edit the input as JSON
      </label>
      {preview && (
        <p className={`text-sm ${mutedText}`} data-testid="credit-estimate">
          {preview.valid
            ? `Estimated cost: ${preview.credit_estimate} credits · ${preview.lane} lane`
            : `The saved version does not validate: ${preview.issues.map((i) => i.message).join("; ")}`}
        </p>
      )}
      <ErrorNote>{problem}</ErrorNote>
      <button type="button" className={buttonClass.primary} disabled={busy} onClick={() => void run()}>
        {workflowId ? "Run now" : "Save and run"}
      </button>
    </div>
  );
}
