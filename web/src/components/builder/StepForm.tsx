import { useEffect, useMemo, useState } from "react";
import { humanize, parseInput, schemaToFields, toInputText, type FormField } from "../../lib/schemaForm";
import type { NodeType } from "../../lib/types";
import { buttonClass, inputClass, mutedText } from "../ui";

export interface StepFormProps {
  nodeId: string;
  nodeType: NodeType | undefined;
  typeName: string;
  config: Record<string, unknown>;
  extra: Record<string, unknown>;
  credentials: { name: string; type: string }[];
  upstream: string[];
  otherNodes: string[];
  outgoing: { id: string; target: string; when?: string }[];
  onRecord: () => void;
  onConfig: (config: Record<string, unknown>) => void;
  onExtra: (extra: Record<string, unknown>) => void;
  onRename: (id: string) => string | null;
  onConnect: (target: string, when: string | null) => void;
  onDisconnect: (edgeId: string) => void;
  onDelete: () => void;
}

const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;

function FieldInput({
  field,
  value,
  credentials,
  inputId,
  onRecord,
  onValue,
}: {
  field: FormField;
  value: unknown;
  credentials: { name: string; type: string }[];
  inputId: string;
  onRecord: () => void;
  onValue: (value: unknown) => void;
}) {
  const [text, setText] = useState(() => toInputText(field, value));
  const [error, setError] = useState<string | null>(null);
  const describedBy = `${inputId}-help${error ? ` ${inputId}-error` : ""}`;
  const required = field.required ? true : undefined;
  const change = (next: string) => {
    setText(next);
    const parsed = parseInput(field, next);
    if (parsed.ok) {
      setError(null);
      onValue(parsed.value);
    } else setError(parsed.error);
  };
  let control;
  if (field.kind === "boolean") {
    const checked = value === undefined ? Boolean(field.defaultValue) : Boolean(value);
    control = (
      <input id={inputId} type="checkbox" checked={checked} aria-describedby={describedBy} onFocus={onRecord} onChange={(e) => onValue(e.target.checked)} />
    );
  } else if (field.kind === "enum" || field.kind === "credential") {
    const options = field.kind === "enum" ? field.options : credentials.map((c) => c.name);
    const current = value === undefined || value === null ? "" : String(value);
    control = (
      <select id={inputId} className={inputClass} value={current} aria-describedby={describedBy} onFocus={onRecord} onChange={(e) => onValue(e.target.value === "" ? undefined : e.target.value)}>
        <option value="">{field.kind === "credential" ? "— no credential —" : `default${field.defaultValue !== undefined && field.defaultValue !== null ? ` (${String(field.defaultValue)})` : ""}`}</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
            {field.kind === "credential" ? ` (${credentials.find((c) => c.name === option)?.type})` : ""}
          </option>
        ))}
        {current && !options.includes(current) && <option value={current}>{current} (not found)</option>}
      </select>
    );
  } else if (field.kind === "text" || field.kind === "json") {
    control = (
      <textarea
        id={inputId}
        className={`${inputClass} font-mono`}
        rows={field.kind === "json" ? 4 : 3}
        value={text}
        placeholder={field.example !== undefined ? toInputText(field, field.example) : undefined}
        aria-invalid={error ? true : undefined}
        aria-required={required}
        aria-describedby={describedBy}
        onFocus={onRecord}
        onChange={(e) => change(e.target.value)}
      />
    );
  } else {
    control = (
      <input
        id={inputId}
        className={inputClass}
        inputMode={field.kind === "number" || field.kind === "integer" ? "decimal" : undefined}
        value={text}
        placeholder={field.example !== undefined ? toInputText(field, field.example) : undefined}
        aria-invalid={error ? true : undefined}
        aria-required={required}
        aria-describedby={describedBy}
        onFocus={onRecord}
        onChange={(e) => change(e.target.value)}
      />
    );
  }
  return (
    <div className={field.kind === "boolean" ? "flex flex-wrap items-start gap-2" : "space-y-1"}>
      <label htmlFor={inputId} className="block text-sm font-medium">
        {field.label}
        {field.required && <span aria-hidden="true"> *</span>}
      </label>
      {control}
      <p id={`${inputId}-help`} className={`w-full text-xs ${mutedText}`}>
        {field.description}
        {field.kind === "credential" && credentials.length === 0 && " No credentials stored yet: add one under Credentials."}
      </p>
      {error && (
        <p id={`${inputId}-error`} className="text-xs text-red-800 dark:text-red-200">
          {error}
        </p>
      )}
    </div>
  );
}

function TemplateHints({ upstream }: { upstream: string[] }) {
  return (
    <details className="rounded-md border border-gray-200 p-2 text-xs dark:border-gray-700">
      <summary className="cursor-pointer font-medium">Template hints</summary>
      <p className={`mt-1 ${mutedText}`}>Text fields accept templates, evaluated when the step runs:</p>
      <ul className="mt-1 space-y-1 font-mono">
        <li>{"{{ input.name }}"} — a field of the run's input</li>
        {upstream.map((id) => (
          <li key={id}>{`{{ nodes.${id}.output }}`}</li>
        ))}
        <li>{"{{ execution.id }}"} — this run</li>
        <li>{"{{ item }}, {{ index }}"} — with “for each”</li>
      </ul>
    </details>
  );
}

export function StepForm(props: StepFormProps) {
  const { nodeId, nodeType, config, extra, onConfig, onExtra, onRecord } = props;
  const fields = useMemo(() => (nodeType ? schemaToFields(nodeType.config_schema) : []), [nodeType]);
  const [idText, setIdText] = useState(nodeId);
  const [idError, setIdError] = useState<string | null>(null);
  const [target, setTarget] = useState("");
  const [branch, setBranch] = useState(nodeType?.branches[0] ?? "");
  useEffect(() => setIdText(nodeId), [nodeId]);
  const retry = (extra.retry as { max_attempts?: number; backoff_s?: number } | undefined) ?? {};
  const setExtra = (key: string, value: unknown) => {
    const next = { ...extra };
    if (value === undefined || value === "" || value === null) delete next[key];
    else next[key] = value;
    onExtra(next);
  };
  const renameTo = () => {
    if (idText === nodeId) return;
    if (!NODE_ID.test(idText)) {
      setIdError("Use letters, digits, _ or -, starting with a letter or _");
      return;
    }
    const problem = props.onRename(idText);
    setIdError(problem);
  };
  return (
    <form className="space-y-3" onSubmit={(e) => e.preventDefault()} aria-label={`Configure step ${nodeId}`}>
      <div>
        <h2 className="text-base font-semibold">{props.typeName}</h2>
        <p className={`text-xs ${mutedText}`}>{nodeType?.description ?? "Unknown node type"}</p>
      </div>
      <div className="space-y-1">
        <label htmlFor="step-id" className="block text-sm font-medium">Step id</label>
        <input
          id="step-id"
          className={inputClass}
          value={idText}
          aria-invalid={idError ? true : undefined}
          aria-describedby={idError ? "step-id-error" : undefined}
          onChange={(e) => setIdText(e.target.value)}
          onBlur={renameTo}
          onKeyDown={(e) => e.key === "Enter" && renameTo()}
        />
        {idError && <p id="step-id-error" className="text-xs text-red-800 dark:text-red-200">{idError}</p>}
      </div>
      {fields.map((field) => (
        <FieldInput
          key={`${nodeId}:${field.name}`}
          inputId={`field-${field.name}`}
          field={field}
          value={config[field.name]}
          credentials={props.credentials}
          onRecord={onRecord}
          onValue={(value) => {
            const next = { ...config };
            if (value === undefined) delete next[field.name];
            else next[field.name] = value;
            onConfig(next);
          }}
        />
      ))}
      <TemplateHints upstream={props.upstream} />
      <details className="space-y-2 rounded-md border border-gray-200 p-2 dark:border-gray-700">
        <summary className="cursor-pointer text-sm font-medium">Retries, timeout, for each</summary>
        <label className="block text-sm">
          Attempts
          <input className={inputClass} type="number" min={1} max={20} value={retry.max_attempts ?? 1} onFocus={onRecord}
            onChange={(e) => setExtra("retry", { ...retry, max_attempts: Math.max(1, Number(e.target.value) || 1) })} />
        </label>
        <label className="block text-sm">
          Backoff (seconds)
          <input className={inputClass} type="number" min={0} step="0.5" value={retry.backoff_s ?? 1} onFocus={onRecord}
            onChange={(e) => setExtra("retry", { ...retry, backoff_s: Math.max(0, Number(e.target.value) || 0) })} />
        </label>
        <label className="block text-sm">
          Timeout (seconds)
          <input className={inputClass} type="number" min={0} value={(extra.timeout_s as number | undefined) ?? ""} onFocus={onRecord}
            onChange={(e) => setExtra("timeout_s", e.target.value === "" ? undefined : Number(e.target.value))} />
        </label>
        <label className="block text-sm">
          For each (a template giving a list)
          <input className={inputClass} value={(extra.for_each as string | undefined) ?? ""} placeholder="{{ input.items }}" onFocus={onRecord}
            onChange={(e) => setExtra("for_each", e.target.value)} />
        </label>
      </details>
      <fieldset className="space-y-2 rounded-md border border-gray-200 p-2 dark:border-gray-700">
        <legend className="px-1 text-sm font-medium">Connections</legend>
        {props.outgoing.length === 0 && <p className={`text-xs ${mutedText}`}>No outgoing connections.</p>}
        <ul className="space-y-1">
          {props.outgoing.map((edge) => (
            <li key={edge.id} className="flex items-center justify-between gap-2 text-sm">
              <span>→ {edge.target}{edge.when ? ` (when ${edge.when})` : ""}</span>
              <button type="button" className={buttonClass.ghost} onClick={() => props.onDisconnect(edge.id)} aria-label={`Remove connection to ${edge.target}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        <div className="flex flex-wrap items-end gap-2">
          <label className="min-w-0 flex-1 text-sm">
            Connect to
            <select className={inputClass} value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">— choose a step —</option>
              {props.otherNodes.map((id) => <option key={id} value={id}>{id}</option>)}
            </select>
          </label>
          {nodeType && nodeType.branches.length > 0 && (
            <label className="text-sm">
              When
              <select className={inputClass} value={branch} onChange={(e) => setBranch(e.target.value)}>
                {nodeType.branches.map((b) => <option key={b} value={b}>{humanize(b)}</option>)}
              </select>
            </label>
          )}
          <button type="button" className={buttonClass.secondary} disabled={!target}
            onClick={() => { props.onConnect(target, nodeType?.branches.length ? branch : null); setTarget(""); }}>
            Connect
          </button>
        </div>
      </fieldset>
      <button type="button" className={buttonClass.danger} onClick={props.onDelete}>Delete step</button>
    </form>
  );
}
