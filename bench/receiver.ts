/**
 * The callback receiver for the benchmark (its own process: `node --import tsx bench/receiver.ts`).
 *
 * Verifies EVERY callback with `standardwebhooks` against the raw body, answers 200 (after --latency-ms) to
 * good ones and 400 to bad signatures, and records the first arrival per webhook-id and per job id. A
 * webhook-id acknowledged twice is a duplicate delivery; a second webhook-id for the same job and event type
 * is a duplicate event message. `GET /_bench/stats[?jobs=1]` returns the aggregates.
 * Flags: --port (0), --latency-ms (0), --secret (required `whsec_…`).
 */
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { exitWithParent, listenAndAnnounce, numberFlag, parseFlags, sendJson } from "./child-support.js";

/** `GET /_bench/stats`. Times are epoch ms of the moment the whole body had arrived. */
export interface ReceiverStats {
  received: number;
  /** Distinct webhook-ids answered 200. */
  unique_webhook_ids: number;
  /** Callbacks whose webhook-id had already been acknowledged. */
  duplicates: number;
  bad_signatures: number;
  /** Distinct (job id, event type) pairs with more than one webhook-id. */
  duplicate_messages: number;
  /** Distinct job ids with at least one acknowledged callback. */
  jobs: number;
  by_type: Record<string, number>;
  first_at: number | null;
  last_at: number | null;
  /** With `jobs=1`: job id → first arrival of its first acknowledged callback. */
  job_first_at?: Record<string, number>;
}

const flags = parseFlags(process.argv.slice(2));
const latencyMs = numberFlag(flags, "latency-ms", 0);
const secret = flags.get("secret");
if (!secret) throw new Error("--secret is required");
// The constructor only decodes the secret; `verify` is the same as `new Webhook(secret).verify(…)`.
const webhook = new Webhook(secret);

const ackedAt = new Map<string, number>(); // webhook-id → first arrival
const jobFirstAt = new Map<string, number>();
const messageIds = new Map<string, string>(); // "<job> <type>" → first webhook-id
const byType: Record<string, number> = {};
let received = 0;
let duplicates = 0;
let badSignatures = 0;
let duplicateMessages = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;

const OK = Buffer.from("ok");

function answer(res: import("node:http").ServerResponse, status: number): void {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(status === 200 ? OK : "bad signature");
}

function stats(withJobs: boolean): ReceiverStats {
  return {
    received,
    unique_webhook_ids: ackedAt.size,
    duplicates,
    bad_signatures: badSignatures,
    duplicate_messages: duplicateMessages,
    jobs: jobFirstAt.size,
    by_type: byType,
    first_at: firstAt,
    last_at: lastAt,
    ...(withJobs ? { job_first_at: Object.fromEntries(jobFirstAt) } : {}),
  };
}

const server = createServer({ keepAlive: true }, (req, res) => {
  if (req.method === "GET" && req.url?.startsWith("/_bench/stats")) return sendJson(res, 200, stats(req.url.includes("jobs=1")));
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = Date.now();
    received++;
    const raw = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8");
    let event: { type?: string; data?: { job_id?: string } };
    try {
      event = webhook.verify(raw, req.headers as Record<string, string>) as typeof event;
    } catch {
      badSignatures++;
      return answer(res, 400);
    }
    const id = req.headers["webhook-id"] as string;
    if (ackedAt.has(id)) duplicates++;
    else {
      ackedAt.set(id, at);
      const type = event.type ?? "unknown";
      const job = event.data?.job_id ?? "";
      byType[type] = (byType[type] ?? 0) + 1;
      if (!jobFirstAt.has(job)) jobFirstAt.set(job, at);
      const key = `${job} ${type}`;
      const first = messageIds.get(key);
      if (first === undefined) messageIds.set(key, id);
      else if (first !== id) duplicateMessages++;
      firstAt ??= at;
      lastAt = at;
    }
    if (latencyMs > 0) setTimeout(answer, latencyMs, res, 200);
    else answer(res, 200);
  });
});

exitWithParent(() => {
  server.closeAllConnections();
  process.exit(0);
});
await listenAndAnnounce(server, numberFlag(flags, "port", 0));
