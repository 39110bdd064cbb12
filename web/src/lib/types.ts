/** The API's shapes the app reads (see /api/openapi.json). */

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  [key: string]: unknown;
};

export interface NodeType {
  name: string;
  family: string;
  description: string;
  cost: number;
  lane: string;
  branches: string[];
  side_effects: boolean;
  config_schema: JsonSchema;
}

export interface NodeSpec {
  id: string;
  type: string;
  config?: Record<string, unknown>;
  position?: { x: number; y: number } | null;
  [key: string]: unknown;
}

export interface EdgeSpec {
  from: string;
  to: string;
  when?: string | null;
}

export interface Definition {
  nodes: NodeSpec[];
  edges: EdgeSpec[];
  [key: string]: unknown;
}

export interface Workflow {
  id: string;
  name: string;
  description: string;
  status: string;
  current_version: number;
  cron: string | null;
  timezone: string;
  schedule_enabled: boolean;
  next_run_at: string | null;
  has_webhook: boolean;
  created_at: string;
  updated_at: string;
  lane: string | null;
  credit_estimate: number | null;
  definition: Definition | null;
}

export interface Page<T> {
  data: T[];
  count: number;
  next_cursor: string | null;
}

export interface Execution {
  id: string;
  workflow_id: string;
  version: number;
  trigger: string;
  status: string;
  attempt: number;
  lane: string;
  credits_used: number;
  error: string | null;
  cancel_requested: boolean;
  parent_execution_id: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface StepRun {
  node_id: string;
  node_type: string;
  status: string;
  attempt: number;
  input: unknown;
  output: unknown;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  credits: number;
  duration_ms: number | null;
}

export interface ExecutionDetail extends Execution {
  input: Record<string, unknown>;
  output: unknown;
  steps: StepRun[];
}

export interface ExecutionEvent {
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  at: string;
}

export interface Me {
  id: string;
  email: string | null;
  kind: string;
  credits: number;
  trial_expires_at: string | null;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  node_count: number;
  lane: string | null;
  credit_estimate: number | null;
}

export interface Schedule {
  cron: string;
  timezone: string;
  misfire_policy: string;
  enabled: boolean;
  next_run_at: string | null;
  next_fire_times: string[];
  description: string;
}

export interface Preview {
  valid: boolean;
  issues: { field: string | null; node: string | null; message: string }[];
  lane: string | null;
  credit_estimate: number | null;
}
