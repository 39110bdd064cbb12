/** The HTTP API client: every call carries the session's Bearer token and turns the API's one
 * error shape ({"error": {code, message, details}}) into an `ApiError`. */

export interface Issue {
  field?: string | null;
  node?: string | null;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Issue[] = [],
  ) {
    super(message);
  }
}

type TokenSource = () => Promise<string | null>;

let apiBase = "/api";
let tokenSource: TokenSource = async () => null;
let onUnauthorized: () => void = () => {};

export function configureApi(base: string, source: TokenSource, unauthorized: () => void = () => {}): void {
  apiBase = base.replace(/\/$/, "");
  tokenSource = source;
  onUnauthorized = unauthorized;
}

export function apiUrl(path: string): string {
  return `${apiBase}${path}`;
}

export async function authHeaders(): Promise<Record<string, string>> {
  const token = await tokenSource();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  anonymous?: boolean;
}

export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = options.anonymous ? {} : await authHeaders();
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(apiUrl(path), {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; details?: Issue[] } } | undefined)?.error;
    if (response.status === 401 && !options.anonymous) onUnauthorized();
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? (response.statusText || `request failed (${response.status})`),
      error?.details ?? [],
    );
  }
  return data as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const details = error.details
      .map((d) => [d.node && `node ${d.node}`, d.field, d.message].filter(Boolean).join(": "))
      .join("; ");
    return details ? `${error.message} (${details})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
