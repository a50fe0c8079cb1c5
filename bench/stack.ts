import { randomBytes } from "node:crypto";
import { createBenchDb, type BenchDb } from "./database.js";
import type { CreateJobsRequest, CreateJobsResponse, FakeStats } from "./fake-rendley.js";
import { getJson, postJson } from "./http.js";
import { onCleanup, startFakeRendley, startReceiver, startRelay, type Proc } from "./processes.js";
import type { ReceiverStats } from "./receiver.js";
import type { ScenarioContext } from "./scenario.js";

/** Credentials of one benchmark run (fresh each time; they never leave 127.0.0.1). */
export interface BenchKeys {
  rendleyApiKey: string;
  relayApiKey: string;
  signingSecret: string;
}

function freshKeys(): BenchKeys {
  return {
    rendleyApiKey: `rk_bench_${randomBytes(12).toString("hex")}`,
    relayApiKey: `rrk_bench_${randomBytes(16).toString("hex")}`,
    signingSecret: `whsec_${randomBytes(32).toString("base64")}`,
  };
}

/** A running relay process and its API URL. */
export interface RelayHandle {
  proc: Proc;
  url: string;
  /** Its poll tag on the fake (`/r<tag>`). */
  tag: number;
}

/** The processes of one scenario: a database, the fake Rendley, the receiver, and relays started on demand. */
export interface Stack {
  readonly db: BenchDb;
  readonly keys: BenchKeys;
  readonly fake: { proc: Proc; url: string };
  readonly receiver: { proc: Proc; url: string };
  readonly callbackUrl: string;
  readonly relays: RelayHandle[];
  /** Starts relay number `tag` (polls go to `<fake>/r<tag>`), with the scenario's settings plus `extra`. */
  startRelay(tag: number, extra?: Record<string, string>): Promise<RelayHandle>;
  createJobs(req: CreateJobsRequest): Promise<CreateJobsResponse>;
  completeJobs(req: { ids?: string[]; all?: boolean }): Promise<{ completed: number; at: number }>;
  fakeStats(query?: {
    since?: number;
    until?: number;
    interval_ms?: number;
    jobs?: boolean;
    prefix?: string;
  }): Promise<FakeStats>;
  receiverStats(withJobs?: boolean): Promise<ReceiverStats>;
  /** Stops every process of the stack and drops its database. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a scenario's database, fake Rendley and receiver (in parallel), and hands out relays. Relay settings:
 * the brief's fixed ones (allowlisted 127.0.0.1 callbacks, no rate limit, warn logs, port 0 on 127.0.0.1) plus
 * `relayEnv`.
 */
export async function startStack(
  ctx: ScenarioContext,
  o: { scenario: string; upstreamLatencyMs: number; receiverLatencyMs: number; relayEnv: Record<string, string> },
): Promise<Stack> {
  const keys = freshKeys();
  const db = await createBenchDb(ctx.target, o.scenario);
  const unregister = onCleanup(() => db.drop());
  const started: Proc[] = [];
  try {
    const [fake, receiver] = await Promise.all([
      startFakeRendley({ apiKey: keys.rendleyApiKey, latencyMs: o.upstreamLatencyMs, seed: ctx.seed }).then((f) => {
        started.push(f.proc);
        return f;
      }),
      startReceiver({ secret: keys.signingSecret, latencyMs: o.receiverLatencyMs }).then((r) => {
        started.push(r.proc);
        return r;
      }),
    ]);
    const relays: RelayHandle[] = [];
    let closed: Promise<void> | undefined;
    const stack: Stack = {
      db,
      keys,
      fake,
      receiver,
      callbackUrl: `${receiver.url}/hook`,
      relays,
      async startRelay(tag, extra = {}) {
        const env: Record<string, string> = {
          ...db.relayEnv,
          RENDLEY_API_URL: `${fake.url}/r${tag}`,
          RENDLEY_API_KEY: keys.rendleyApiKey,
          RELAY_API_KEY: keys.relayApiKey,
          RELAY_SIGNING_SECRET: keys.signingSecret,
          RELAY_CALLBACK_ALLOWLIST: "127.0.0.1",
          HOST: "127.0.0.1",
          PORT: "0",
          LOG_LEVEL: "warn",
          RELAY_RATE_LIMIT_RPS: "1000000",
          RELAY_RATE_LIMIT_BURST: "1000000",
          ...o.relayEnv,
          ...extra,
        };
        const relay = await startRelay(`relay-${tag}`, env);
        const handle = { ...relay, tag };
        relays.push(handle);
        return handle;
      },
      createJobs: (req) => postJson<CreateJobsResponse>(`${fake.url}/_bench/jobs`, req),
      completeJobs: (req) => postJson(`${fake.url}/_bench/jobs/complete`, req),
      fakeStats(q = {}) {
        const params = new URLSearchParams();
        if (q.since !== undefined) params.set("since", String(q.since));
        if (q.until !== undefined) params.set("until", String(q.until));
        if (q.interval_ms !== undefined) params.set("interval_ms", String(q.interval_ms));
        if (q.jobs) params.set("jobs", "1");
        if (q.prefix) params.set("prefix", q.prefix);
        return getJson<FakeStats>(`${fake.url}/_bench/stats?${params}`);
      },
      receiverStats: (withJobs = false) => getJson<ReceiverStats>(`${receiver.url}/_bench/stats${withJobs ? "?jobs=1" : ""}`),
      close() {
        closed ??= (async () => {
          // Relays first (they still hold database connections), then the fakes, then the database.
          await Promise.allSettled(relays.map((r) => r.proc.stop(10_000)));
          await Promise.allSettled([fake.proc.stop(2_000), receiver.proc.stop(2_000)]);
          unregister();
          await db.drop();
        })();
        return closed;
      },
    };
    return stack;
  } catch (err) {
    await Promise.allSettled(started.map((p) => p.stop(2_000)));
    unregister();
    await db.drop();
    throw err;
  }
}

/** Warn/error lines the relays logged, counted by message: the first place to look when a figure is off. */
export function relayLogSummary(relays: readonly RelayHandle[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of relays) for (const [key, n] of r.proc.logCounts) out[key] = (out[key] ?? 0) + n;
  return out;
}
