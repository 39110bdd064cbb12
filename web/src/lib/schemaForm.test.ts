import { describe, expect, it } from "vitest";
import { initialConfig, parseInput, schemaToFields, toInputText } from "./schemaForm";
import type { JsonSchema } from "./types";

const HTTP: JsonSchema = {
  type: "object",
  required: ["url"],
  properties: {
    method: { type: "string", enum: ["GET", "POST"], default: "GET", description: "HTTP method." },
    url: { type: "string", description: "Absolute URL", examples: ["https://api.example.com/items"] },
    headers: { type: "object", additionalProperties: { type: "string" } },
    body: { anyOf: [{ type: "string" }, { type: "null" }], default: null },
    credential: { anyOf: [{ type: "string" }, { type: "null" }], default: null, examples: ["github-token"] },
    timeout_s: { anyOf: [{ type: "number", exclusiveMinimum: 0 }, { type: "null" }], default: null },
    raise_for_status: { type: "boolean", default: true },
    retries: { type: "integer" },
    json: { default: null },
  },
};

describe("schemaToFields", () => {
  const fields = Object.fromEntries(schemaToFields(HTTP).map((f) => [f.name, f]));

  it("keeps the schema's order and marks required fields", () => {
    expect(schemaToFields(HTTP).map((f) => f.name)).toEqual([
      "method", "url", "headers", "body", "credential", "timeout_s", "raise_for_status", "retries", "json",
    ]);
    expect(fields.url.required).toBe(true);
    expect(fields.method.required).toBe(false);
  });

  it("maps each JSON Schema type to an input kind", () => {
    expect(fields.method.kind).toBe("enum");
    expect(fields.method.options).toEqual(["GET", "POST"]);
    expect(fields.url.kind).toBe("string");
    expect(fields.headers.kind).toBe("json");
    expect(fields.raise_for_status.kind).toBe("boolean");
    expect(fields.retries.kind).toBe("integer");
    expect(fields.json.kind).toBe("json");
  });

  it("reads Optional[X] as a nullable X", () => {
    expect(fields.body).toMatchObject({ kind: "text", nullable: true });
    expect(fields.timeout_s).toMatchObject({ kind: "number", nullable: true });
  });

  it("turns a credential field into a credential picker", () => {
    expect(fields.credential.kind).toBe("credential");
    expect(fields.credential.acceptsTemplates).toBe(false);
  });

  it("labels fields from their names and keeps descriptions", () => {
    expect(fields.timeout_s.label).toBe("Timeout s");
    expect(fields.method.description).toBe("HTTP method.");
  });
});

describe("parseInput", () => {
  const [method, url, headers, , , timeout, , retries] = schemaToFields(HTTP);

  it("refuses an empty required field, naming it", () => {
    expect(parseInput(url, "  ")).toEqual({ ok: false, error: "Url is required" });
  });

  it("drops an empty optional field so the default applies", () => {
    expect(parseInput(method, "")).toEqual({ ok: true, value: undefined });
  });

  it("parses numbers, refusing text and fractions where integers are needed", () => {
    expect(parseInput(timeout, "2.5")).toEqual({ ok: true, value: 2.5 });
    expect(parseInput(timeout, "soon")).toEqual({ ok: false, error: "Timeout s must be a number" });
    expect(parseInput(retries, "1.5")).toEqual({ ok: false, error: "Retries must be a whole number" });
    expect(parseInput(retries, "{{ input.n }}")).toEqual({ ok: true, value: "{{ input.n }}" });
  });

  it("parses JSON fields and reports broken JSON", () => {
    expect(parseInput(headers, '{"Accept": "text/plain"}')).toEqual({ ok: true, value: { Accept: "text/plain" } });
    expect(parseInput(headers, '{"Accept": ')).toEqual({ ok: false, error: "Headers is not valid JSON" });
  });

  it("keeps a template in a JSON field as text, and shows text values unquoted", () => {
    expect(parseInput(headers, "{{ nodes.fetch.output.headers }}")).toEqual({ ok: true, value: "{{ nodes.fetch.output.headers }}" });
    expect(toInputText(headers, "{{ input.headers }}")).toBe("{{ input.headers }}");
  });

  it("round-trips a JSON value through the text the form shows", () => {
    const text = toInputText(headers, { A: "1" });
    expect(parseInput(headers, text)).toEqual({ ok: true, value: { A: "1" } });
  });
});

describe("initialConfig", () => {
  it("fills required fields from defaults or examples", () => {
    expect(initialConfig(HTTP)).toEqual({ url: "https://api.example.com/items" });
  });
});
