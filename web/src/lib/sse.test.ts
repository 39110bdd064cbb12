import { describe, expect, it } from "vitest";
import { SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split across chunks, keeping the last id", () => {
    const parser = new SseParser();
    expect(parser.feed("id: 1\nevent: run_started\nda")).toEqual([]);
    expect(parser.feed('ta: {"seq":1}\n\nid: 2\nevent: step_started\ndata: {"seq":2}\n\n')).toEqual([
      { id: "1", event: "run_started", data: '{"seq":1}' },
      { id: "2", event: "step_started", data: '{"seq":2}' },
    ]);
    expect(parser.lastEventId).toBe("2");
  });

  it("ignores keep-alive comments and reads the retry hint", () => {
    const parser = new SseParser();
    expect(parser.feed(": keep-alive\n\nretry: 1000\n\n")).toEqual([]);
    expect(parser.retryMs).toBe(1000);
  });

  it("joins multi-line data and accepts CRLF line ends", () => {
    const parser = new SseParser();
    expect(parser.feed("data: a\r\ndata: b\r\n\r\n")).toEqual([{ id: null, event: "message", data: "a\nb" }]);
  });
});

describe("openEventStream", () => {
  it("reconnects with Last-Event-ID after the server closes, and stops on 204", async () => {
    const { openEventStream } = await import("./sse");
    const seen: (string | null)[] = [];
    const bodies = [
      "retry: 1\n\nid: 1\nevent: run_started\ndata: {}\n\nid: 2\nevent: step_started\ndata: {}\n\n",
      "retry: 1\n\nid: 3\nevent: step_succeeded\ndata: {}\n\n",
    ];
    const original = globalThis.fetch;
    globalThis.fetch = (async (_url: string, init: RequestInit) => {
      const headers = init.headers as Record<string, string>;
      seen.push(headers["Last-Event-ID"] ?? null);
      expect(headers.Authorization).toBe("Bearer k");
      const body = bodies.shift();
      return body === undefined ? new Response(null, { status: 204 }) : new Response(body, { status: 200 });
    }) as typeof fetch;
    const events: string[] = [];
    try {
      await new Promise<void>((resolve) => {
        const close = openEventStream({
          url: "/api/executions/x/stream",
          headers: async () => ({ Authorization: "Bearer k" }),
          onMessage: (message) => events.push(`${message.id}:${message.event}`),
        });
        const check = setInterval(() => {
          if (seen.length === 3) {
            clearInterval(check);
            setTimeout(() => {
              close();
              resolve();
            }, 20);
          }
        }, 5);
      });
    } finally {
      globalThis.fetch = original;
    }
    expect(events).toEqual(["1:run_started", "2:step_started", "3:step_succeeded"]);
    expect(seen).toEqual([null, "2", "3"]);
  });
});
