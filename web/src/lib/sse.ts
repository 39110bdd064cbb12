/** Server-Sent Events over fetch, so the request can carry the Bearer token (the browser's
 * EventSource cannot send headers). It behaves like EventSource: after the server closes the
 * stream (aws mode does every ~20 s) it reconnects after the `retry:` hint with `Last-Event-ID`, and
 * stops on a 204 (the execution has finished and nothing is left to send). */

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Incremental parser: feed chunks of text, get complete messages. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  lastEventId: string | null = null;
  retryMs: number | null = null;

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      if (line === "") {
        if (this.data.length) messages.push({ id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") });
        this.data = [];
        this.event = "";
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "event") this.event = value;
      else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    return messages;
  }
}

export interface StreamOptions {
  url: string;
  headers: () => Promise<Record<string, string>>;
  onMessage: (message: SseMessage) => void;
  onError?: (error: unknown) => void;
  /** Stop reconnecting once this says so (e.g. after `run_finished`). */
  done?: () => boolean;
  lastEventId?: string | null;
}

/** Returns a function that closes the stream. */
export function openEventStream(options: StreamOptions): () => void {
  const controller = new AbortController();
  let lastEventId = options.lastEventId ?? null;
  let retryMs = 1000;
  let failures = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      controller.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });

  (async () => {
    while (!controller.signal.aborted && !options.done?.()) {
      const parser = new SseParser();
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream", ...(await options.headers()) };
        if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch(options.url, { headers, signal: controller.signal, cache: "no-store" });
        if (response.status === 204) return;
        if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
        failures = 0;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of parser.feed(value)) {
            if (message.id !== null) lastEventId = message.id;
            options.onMessage(message);
          }
        }
        if (parser.retryMs !== null) retryMs = parser.retryMs;
      } catch (error) {
        if (controller.signal.aborted) return;
        failures += 1;
        options.onError?.(error);
        if (failures >= 5) return;
      }
      await sleep(retryMs * Math.max(1, failures));
    }
  })();
  return () => controller.abort();
}
