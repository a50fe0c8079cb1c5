import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { flattenHeaders } from "./http.js";

/** A callback the receiver got. */
export interface ReceivedCallback {
  path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  rawBody: string;
  /** JSON.parse(rawBody), or undefined if unparsable. */
  body: any;
  /** Whether the Standard Webhooks signature checks out against ANY of the secrets current on arrival. */
  verified: boolean;
  verifyError?: string;
  webhookId: string | undefined;
  /** Date.now() on arrival. */
  at: number;
  /** Status we answered; 0 while stalled, or if the socket was reset (`destroy`). */
  status: number;
}

/** How to answer one callback. Defaults: 200, body "ok", at once. */
export interface ResponseSpec {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Stall this long before answering (or resetting). */
  delayMs?: number;
  /** Reset the socket instead of answering. */
  destroy?: boolean;
}

/** Decides the answer per callback; `index` is its position in `received`. Returning undefined means the default. */
export type Responder = (req: ReceivedCallback, index: number) => ResponseSpec | undefined;

/** Handle on a running callback receiver. */
export interface Receiver {
  /** Default path "/hook" → "http://127.0.0.1:<port>/hook". */
  url(path?: string): string;
  readonly received: readonly ReceivedCallback[];
  /** Sets how later callbacks are answered: a function per request, or one fixed answer. Default: 200 "ok" at once. */
  respond(responder: Responder | ResponseSpec): void;
  /** Replaces the secrets that later callbacks are verified against. */
  setSecrets(...secrets: string[]): void;
  byWebhookId(id: string): ReceivedCallback[];
  /** Distinct webhook-ids that were answered with 2xx. */
  acknowledgedIds(): Set<string>;
  /** Drops every connection (releasing stalled requests) and stops the server. */
  close(): Promise<void>;
}

/** Starts a callback receiver on 127.0.0.1 (random port) that records and verifies Standard Webhooks requests. */
export async function startReceiver(options: { secrets: string[] }): Promise<Receiver> {
  const received: ReceivedCallback[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let secrets = [...options.secrets];
  let responder: Responder = () => undefined;

  const answer = (req: IncomingMessage, res: ServerResponse, callback: ReceivedCallback, spec: ResponseSpec): void => {
    if (res.destroyed || res.writableEnded) return;
    if (spec.destroy) {
      req.socket.destroy();
      return;
    }
    const status = spec.status ?? 200;
    res.writeHead(status, { "content-type": "text/plain", ...spec.headers });
    res.end(spec.body ?? "ok");
    callback.status = status;
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      const headers = flattenHeaders(req);
      const callback: ReceivedCallback = {
        path: new URL(req.url ?? "/", "http://127.0.0.1").pathname,
        headers,
        rawBody,
        body: parseJson(rawBody),
        ...verify(rawBody, headers, secrets),
        webhookId: headers["webhook-id"],
        at,
        status: 0,
      };
      const index = received.push(callback) - 1;

      let spec: ResponseSpec;
      try {
        spec = responder(callback, index) ?? {};
      } catch (err) {
        spec = { status: 500, body: `responder threw: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (spec.delayMs && spec.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer(req, res, callback, spec);
        }, spec.delayMs);
        timers.add(timer);
      } else {
        answer(req, res, callback, spec);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: (path = "/hook") => `http://127.0.0.1:${port}${path.startsWith("/") ? path : `/${path}`}`,
    get received() {
      return received;
    },
    respond(next) {
      responder = typeof next === "function" ? next : () => next;
    },
    setSecrets(...next) {
      secrets = next;
    },
    byWebhookId: (id) => received.filter((callback) => callback.webhookId === id),
    acknowledgedIds() {
      const ids = new Set<string>();
      for (const callback of received) {
        if (callback.webhookId !== undefined && callback.status >= 200 && callback.status < 300) ids.add(callback.webhookId);
      }
      return ids;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Verifies against each secret in turn; the first match wins, otherwise the last error is reported. */
function verify(
  rawBody: string,
  headers: Record<string, string>,
  secrets: string[],
): { verified: boolean; verifyError?: string } {
  if (secrets.length === 0) return { verified: false, verifyError: "no secrets configured" };
  let lastError = "";
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(rawBody, headers, { jsonParse: false });
      return { verified: true };
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
  }
  return { verified: false, verifyError: lastError };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
