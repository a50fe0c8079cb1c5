import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CallbackVerificationError, verifyCallback } from "../src/receiver/index.js";

/** One callback as the demo's receiver saw it. */
export interface ReceivedCallback {
  /** Date.now() on arrival. */
  at: number;
  webhookId: string;
  /** `job.completed`, … (from the body, also when the signature did not verify). */
  type: string;
  jobId: string;
  /** `data.subscription_id`: the subscription that discovered the job (a job nobody registered). */
  subscriptionId?: string;
  verified: boolean;
  /** The verification error's code when it did not verify. */
  problem?: string;
}

export interface DemoReceiver {
  /** `http://127.0.0.1:<port>/hooks/rendley` */
  readonly url: string;
  readonly received: readonly ReceivedCallback[];
  close(): Promise<void>;
}

/**
 * An app's webhook endpoint: verifies each callback with the receiver kit (`verifyCallback` from
 * `rendley-relay/receiver`) against the raw body, answers 204 when it verifies and the error's status
 * otherwise (so the relay retries), and reports every callback to `onCallback`.
 */
export async function startDemoReceiver(options: {
  secret: string;
  onCallback: (callback: ReceivedCallback) => void;
}): Promise<DemoReceiver> {
  const received: ReceivedCallback[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const callback: ReceivedCallback = {
        at: Date.now(),
        webhookId: String(req.headers["webhook-id"] ?? "?"),
        type: "?",
        jobId: "?",
        verified: false,
      };
      try {
        const event = verifyCallback(raw, req.headers, options.secret);
        Object.assign(callback, { type: event.type, jobId: event.data.job_id, verified: true });
        if (event.data.subscription_id) callback.subscriptionId = event.data.subscription_id;
        res.writeHead(204).end();
      } catch (err) {
        const unverified = peek(raw);
        Object.assign(callback, unverified, {
          problem: err instanceof CallbackVerificationError ? err.code : String(err),
        });
        const status = err instanceof CallbackVerificationError ? err.status : 500;
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: "not verified" }));
      }
      received.push(callback);
      options.onCallback(callback);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/rendley`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What an unverified body claims, for display only. */
function peek(raw: Buffer): { type?: string; jobId?: string } {
  try {
    const body = JSON.parse(raw.toString("utf8")) as { type?: unknown; data?: { job_id?: unknown } };
    return {
      ...(typeof body.type === "string" ? { type: body.type } : {}),
      ...(typeof body.data?.job_id === "string" ? { jobId: body.data.job_id } : {}),
    };
  } catch {
    return {};
  }
}
