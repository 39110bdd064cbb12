/** A node type's JSON Schema turned into form fields, and the values typed into them turned back
 * into config. Objects, arrays and untyped values are edited as JSON. */
import type { JsonSchema } from "./types";

export type FieldKind = "string" | "text" | "number" | "integer" | "boolean" | "enum" | "credential" | "json";

export interface FormField {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  description: string;
  options: string[];
  defaultValue: unknown;
  example: unknown;
  acceptsTemplates: boolean;
}

const MULTILINE = new Set(["body", "expression", "expr", "prompt", "system", "text", "html", "template", "message"]);

function isCredentialField(name: string, schema: JsonSchema): boolean {
  return schema.format === "credential" || name === "credential" || name.endsWith("_credential");
}

/** `anyOf: [X, {type: null}]` (pydantic's Optional) reads as X, nullable. */
function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const options = schema.anyOf;
  if (!options) return { schema, nullable: false };
  const present = options.filter((option) => option.type !== "null");
  if (present.length === 1 && present.length < options.length) {
    const { anyOf: _ignored, ...rest } = schema;
    return { schema: { ...rest, ...present[0] }, nullable: true };
  }
  return { schema, nullable: false };
}

function kindOf(name: string, schema: JsonSchema): FieldKind {
  if (isCredentialField(name, schema)) return "credential";
  if (Array.isArray(schema.enum)) return "enum";
  switch (schema.type) {
    case "string":
      return MULTILINE.has(name) ? "text" : "string";
    case "number":
      return "number";
    case "integer":
      return "integer";
    case "boolean":
      return "boolean";
    default:
      return "json";
  }
}

export function humanize(name: string): string {
  const words = name.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function schemaToFields(schema: JsonSchema): FormField[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const { schema: property, nullable } = unwrapNullable(raw);
    const kind = kindOf(name, property);
    return {
      name,
      label: humanize(name),
      kind,
      required: required.has(name),
      nullable,
      description: String(raw.description ?? property.description ?? ""),
      options: kind === "enum" ? (property.enum ?? []).map(String) : [],
      defaultValue: raw.default ?? property.default,
      example: (raw.examples ?? property.examples)?.[0],
      acceptsTemplates: kind === "string" || kind === "text" || kind === "json",
    };
  });
}

/** What the form shows for a config value. */
export function toInputText(field: FormField, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (field.kind === "json") return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return String(value);
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** The config value for what was typed; `undefined` removes the key (the node type's default applies). */
export function parseInput(field: FormField, text: string): Parsed {
  const trimmed = text.trim();
  if (trimmed === "") {
    if (field.required) return { ok: false, error: `${field.label} is required` };
    return { ok: true, value: undefined };
  }
  switch (field.kind) {
    case "number":
    case "integer": {
      if (trimmed.includes("{{")) return { ok: true, value: trimmed };
      const number = Number(trimmed);
      if (!Number.isFinite(number)) return { ok: false, error: `${field.label} must be a number` };
      if (field.kind === "integer" && !Number.isInteger(number))
        return { ok: false, error: `${field.label} must be a whole number` };
      return { ok: true, value: number };
    }
    case "json":
      if (trimmed.startsWith("{{")) return { ok: true, value: text };
      try {
        return { ok: true, value: JSON.parse(trimmed) };
      } catch {
        if (!/^[[{"]/.test(trimmed)) return { ok: true, value: text };
        return { ok: false, error: `${field.label} is not valid JSON` };
      }
    default:
      return { ok: true, value: text };
  }
}

/** A starting config for a new node: required fields from their default or first example. */
export function initialConfig(schema: JsonSchema): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of schemaToFields(schema)) {
    if (!field.required) continue;
    if (field.defaultValue !== undefined && field.defaultValue !== null) config[field.name] = field.defaultValue;
    else if (field.example !== undefined && field.kind !== "credential") config[field.name] = field.example;
  }
  return config;
}
