import { type ReactNode, useState } from "react";

const BASE =
  "inline-flex items-center justify-center gap-1 rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 disabled:cursor-not-allowed disabled:opacity-50";
export const buttonClass = {
  primary: `${BASE} bg-indigo-700 text-white hover:bg-indigo-800`,
  secondary: `${BASE} border border-gray-300 bg-white text-gray-900 hover:bg-gray-100 dark:border-gray-600 dark:bg-gray-800 dark:text-gray-100 dark:hover:bg-gray-700`,
  danger: `${BASE} bg-red-700 text-white hover:bg-red-800`,
  ghost: `${BASE} text-gray-800 hover:bg-gray-200 dark:text-gray-200 dark:hover:bg-gray-800`,
};

export const inputClass =
  "block w-full min-w-0 rounded-md border border-gray-400 bg-white px-2 py-1.5 text-sm text-gray-900 placeholder:text-gray-500 focus:border-indigo-600 focus:outline-2 focus:outline-indigo-500 dark:border-gray-500 dark:bg-gray-900 dark:text-gray-100 dark:placeholder:text-gray-400";

export const mutedText = "text-gray-600 dark:text-gray-300";

export function Card({ children, className = "" }: { children: ReactNode; className?: string }) {
  return (
    <div className={`rounded-lg border border-gray-200 bg-white p-4 shadow-sm dark:border-gray-700 dark:bg-gray-900 ${className}`}>
      {children}
    </div>
  );
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 className="text-xl font-semibold">{children}</h1>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}

const STATUS_COLOURS: Record<string, string> = {
  succeeded: "bg-green-100 text-green-900 dark:bg-green-900 dark:text-green-100",
  active: "bg-green-100 text-green-900 dark:bg-green-900 dark:text-green-100",
  failed: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
  running: "bg-blue-100 text-blue-900 dark:bg-blue-900 dark:text-blue-100",
  queued: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  pending: "bg-gray-200 text-gray-900 dark:bg-gray-700 dark:text-gray-100",
  skipped: "bg-gray-200 text-gray-900 dark:bg-gray-700 dark:text-gray-100",
  cancelled: "bg-gray-200 text-gray-900 dark:bg-gray-700 dark:text-gray-100",
  draft: "bg-gray-200 text-gray-900 dark:bg-gray-700 dark:text-gray-100",
  archived: "bg-gray-200 text-gray-900 dark:bg-gray-700 dark:text-gray-100",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span
      data-status={status}
      className={`inline-block rounded-full px-2 py-0.5 text-xs font-medium ${STATUS_COLOURS[status] ?? STATUS_COLOURS.pending}`}
    >
      {status}
    </span>
  );
}

export function ErrorNote({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900 dark:border-red-700 dark:bg-red-950 dark:text-red-100">
      {children}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="rounded-md border border-indigo-200 bg-indigo-50 px-3 py-2 text-sm text-indigo-900 dark:border-indigo-700 dark:bg-indigo-950 dark:text-indigo-100">
      {children}
    </p>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <p role="status" className={`py-6 text-sm ${mutedText}`}>
      {label}…
    </p>
  );
}

export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const text = value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <pre
      tabIndex={0}
      aria-label={label}
      className="max-h-72 overflow-auto whitespace-pre-wrap break-all rounded-md bg-gray-100 p-2 text-xs text-gray-900 dark:bg-gray-800 dark:text-gray-100"
    >
      {text}
    </pre>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className={buttonClass.secondary}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          const area = document.createElement("textarea");
          area.value = text;
          document.body.appendChild(area);
          area.select();
          document.execCommand("copy");
          area.remove();
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? "Copied" : label}
    </button>
  );
}

/** A secret shown once, with a copy button. */
export function OnceSecret({ title, value }: { title: string; value: string }) {
  return (
    <div className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50">
      <p className="font-medium">{title}</p>
      <p>It is shown only now: copy it somewhere safe.</p>
      <div className="flex flex-wrap items-center gap-2">
        <code className="min-w-0 break-all rounded bg-white px-2 py-1 font-mono text-xs text-gray-900 dark:bg-gray-900 dark:text-gray-100">{value}</code>
        <CopyButton text={value} />
      </div>
    </div>
  );
}

export function Table({ children, label }: { children: ReactNode; label: string }) {
  return (
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={label}>
      <table className="w-full text-left text-sm">{children}</table>
    </div>
  );
}

export const thClass = `border-b border-gray-200 px-2 py-2 font-medium dark:border-gray-700 ${mutedText}`;
export const tdClass = "border-b border-gray-100 px-2 py-2 align-top dark:border-gray-800";
