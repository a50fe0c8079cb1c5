/**
 * The two pollers the relay is compared with (own process: `node --import tsx bench/baseline-pollers.ts`),
 * each polling its own copy of every job straight against the fake Rendley:
 * - `fixed`: the reference page's loop: GET, and while not terminal wait 3 s after the answer, GET again;
 * - `backoff`: plain backoff: GET at once, then wait 1 s, ×1.5 after every answer, at most 10 s.
 * `POST /_bench/schedule {jobs: [{id, mode, start_at_ms}]}` starts each loop at its job's start;
 * `GET /_bench/stats` returns when each loop first saw its job terminal.
 * Flags: --upstream (the fake's base URL), --api-key, --port (0).
 */
import { createServer } from "node:http";
import { Pool } from "undici";
import { exitWithParent, listenAndAnnounce, numberFlag, parseFlags, readBody, sendJson } from "./child-support.js";

export type BaselineMode = "fixed" | "backoff";

export interface ScheduleRequest {
  jobs: { id: string; mode: BaselineMode; start_at_ms: number }[];
}

export interface BaselineStats {
  /** Loops still running. */
  pending: number;
  errors: number;
  /** mode → job id → epoch ms the loop got the terminal answer. */
  seen: Record<BaselineMode, Record<string, number>>;
}

/** Poll tags (`/r<N>` on the fake) that attribute these polls in the fake's statistics. */
export const BASELINE_TAGS: Record<BaselineMode, number> = { fixed: 8, backoff: 9 };

const FIXED_DELAY_MS = 3_000;
const BACKOFF = { firstMs: 1_000, factor: 1.5, maxMs: 10_000 };
const TERMINAL = new Set(["completed", "failed", "canceled"]);

const flags = parseFlags(process.argv.slice(2));
const upstream = flags.get("upstream");
const apiKey = flags.get("api-key");
if (!upstream || !apiKey) throw new Error("--upstream and --api-key are required");
// Each loop awaits its answer before sleeping, like the reference code; the pool only bounds sockets.
const pool = new Pool(upstream, { connections: 64, keepAliveTimeout: 60_000, pipelining: 1 });
const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" };

const seen: BaselineStats["seen"] = { fixed: {}, backoff: {} };
let pending = 0;
let errors = 0;
const timers = new Set<NodeJS.Timeout>();

function later(fn: () => void, ms: number): void {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

async function fetchStatus(id: string, mode: BaselineMode): Promise<string | undefined> {
  try {
    const res = await pool.request({
      method: "GET",
      path: `/r${BASELINE_TAGS[mode]}/v1/jobs/${encodeURIComponent(id)}`,
      headers,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      errors++;
      return undefined;
    }
    return (JSON.parse(text) as { data: { status: string } }).data.status;
  } catch {
    errors++;
    return undefined;
  }
}

function run(id: string, mode: BaselineMode): void {
  let delay = mode === "fixed" ? FIXED_DELAY_MS : BACKOFF.firstMs;
  const step = async () => {
    const status = await fetchStatus(id, mode);
    if (status !== undefined && TERMINAL.has(status)) {
      seen[mode][id] = Date.now();
      pending--;
      return;
    }
    later(() => void step(), delay);
    if (mode === "backoff") delay = Math.min(BACKOFF.maxMs, Math.round(delay * BACKOFF.factor));
  };
  void step();
}

const server = createServer({ keepAlive: true }, (req, res) => {
  void (async () => {
    if (req.method === "GET" && req.url === "/_bench/stats") {
      const stats: BaselineStats = { pending, errors, seen };
      return sendJson(res, 200, stats);
    }
    if (req.method === "POST" && req.url === "/_bench/schedule") {
      const body = JSON.parse(await readBody(req)) as ScheduleRequest;
      const now = Date.now();
      for (const job of body.jobs) {
        pending++;
        later(() => run(job.id, job.mode), Math.max(0, job.start_at_ms - now));
      }
      return sendJson(res, 200, { scheduled: body.jobs.length });
    }
    sendJson(res, 404, { error: "not found" });
  })().catch((err: Error) => sendJson(res, 400, { error: err.message }));
});

exitWithParent(() => {
  for (const timer of timers) clearTimeout(timer);
  server.closeAllConnections();
  process.exit(0);
});
await listenAndAnnounce(server, numberFlag(flags, "port", 0));
