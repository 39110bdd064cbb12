import { useState } from "react";
import { api, describeError } from "../../lib/api";
import { buttonClass, CopyButton, ErrorNote, mutedText, OnceSecret } from "../ui";

interface Issued {
  url: string;
  token: string;
  signing_secret: string | null;
}

export function WebhookPanel({ workflowId, hasWebhook, onChange }: { workflowId: string; hasWebhook: boolean; onChange: (has: boolean) => void }) {
  const [issued, setIssued] = useState<Issued | null>(null);
  const [signed, setSigned] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const issue = async () => {
    if (hasWebhook && !window.confirm("Rotate the webhook? The current URL stops working at once.")) return;
    try {
      setIssued(await api<Issued>(`/workflows/${workflowId}/webhook`, { method: "POST", body: { require_signature: signed } }));
      onChange(true);
      setProblem(null);
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  const remove = async () => {
    if (!window.confirm("Remove the webhook? Its URL stops working.")) return;
    try {
      await api(`/workflows/${workflowId}/webhook`, { method: "DELETE" });
      setIssued(null);
      onChange(false);
    } catch (reason) {
      setProblem(describeError(reason));
    }
  };
  return (
    <div className="space-y-3">
      <h2 className="text-base font-semibold">Webhook</h2>
      <p className={`text-sm ${mutedText}`}>
        Any HTTP request to the webhook URL starts a run; a JSON body becomes the run's input. The URL holds a secret token, shown only when it is made.
      </p>
      {hasWebhook && !issued && <p className="text-sm">This workflow has a webhook. Rotate it to see a new URL (the old one stops working).</p>}
      {issued && (
        <div className="space-y-2">
          <div className="flex flex-wrap items-center gap-2">
            <code data-testid="webhook-url" className="min-w-0 break-all rounded bg-gray-100 px-2 py-1 text-xs dark:bg-gray-800">{issued.url}</code>
            <CopyButton text={issued.url} label="Copy URL" />
          </div>
          {issued.signing_secret && <OnceSecret title="Signing secret" value={issued.signing_secret} />}
        </div>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={signed} onChange={(e) => setSigned(e.target.checked)} />
        Require signed deliveries (HMAC-SHA256)
      </label>
      <ErrorNote>{problem}</ErrorNote>
      <div className="flex flex-wrap gap-2">
        <button type="button" className={buttonClass.primary} onClick={() => void issue()}>{hasWebhook ? "Rotate secret" : "Create webhook"}</button>
        {hasWebhook && <button type="button" className={buttonClass.secondary} onClick={() => void remove()}>Remove webhook</button>}
      </div>
    </div>
  );
}
