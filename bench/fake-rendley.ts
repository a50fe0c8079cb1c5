/**
 * A lean fake of Rendley's job API for the benchmark (its own process: `node --import tsx bench/fake-rendley.ts`).
 *
 * `GET [/r<N>]/v1/jobs/{id}` answers the documented job object: `queued` before the job's start, `processing`
 * until start + duration, then `completed` with a `storage_url`. The optional `/r<N>` prefix tags the poll with
 * relay N (each replica gets its own RENDLEY_API_URL), so polls can be attributed per process.
 * Every poll is appended to a typed-array log (time, job, tag): no per-request objects beyond what node:http
 * makes, and the answer bodies are prebuilt Buffers, so one core serves well over 10k requests/s.
 *
 * Control (JSON): `POST /_bench/jobs`, `POST /_bench/jobs/complete`, `GET /_bench/stats`, `GET /_bench/polls?id=`.
 * Flags: --port (0), --latency-ms (0), --seed (1), --api-key (required bearer token).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exitWithParent, listenAndAnnounce, numberFlag, parseFlags, readBody, sendJson } from "./child-support.js";
import { DEFAULT_MIX, drawJob, seededRng, type JobMix } from "./workload.js";

/** `POST /_bench/jobs` body. Arrays, when given, have `count` entries. */
export interface CreateJobsRequest {
  count: number;
  /** Types and duration distributions to draw from (default: DEFAULT_MIX). */
  mix?: JobMix;
  /** Epoch ms each job starts (one value for all, or one per job); default now. Before it the job is `queued`. */
  start_at_ms?: number | number[];
  /** Durations to use instead of drawing (null: never finishes on its own). */
  durations_ms?: (number | null)[];
  /** Types to use with `durations_ms`. */
  types?: string[];
  /** Every job runs until completed through `POST /_bench/jobs/complete`. */
  never_finish?: boolean;
  /** Id prefix (default `job_`); ids are `<prefix><global index>`. */
  prefix?: string;
}

export interface CreateJobsResponse {
  ids: string[];
  types: string[];
  /** null for jobs that never finish on their own. */
  durations_ms: (number | null)[];
}

/** Poll statistics of one relay tag (`/r<N>`; 0 = no prefix). A gap belongs to the tag of its later poll. */
export interface TagStats {
  polls: number;
  min_gap_ms: number | null;
  gaps_lt_1000: number;
  gaps_lt_interval: number;
}

/** `GET /_bench/stats?since=&until=&interval_ms=&jobs=1&prefix=`: polls with since ≤ t < until. */
export interface FakeStats {
  since: number;
  until: number;
  interval_ms: number;
  total_polls: number;
  unknown_polls: number;
  min_gap_ms: number | null;
  gaps_lt_1000: number;
  gaps_lt_interval: number;
  by_tag: Record<string, TagStats>;
  jobs_total: number;
  jobs_terminal: number;
  /** Per job (with `jobs=1`), in creation order, only ids starting with `prefix` when given. */
  jobs?: {
    ids: string[];
    polls: number[];
    start_at: number[];
    /** When the job turned terminal (null: not yet). */
    terminal_at: (number | null)[];
    /** The first poll at or after terminal_at: when some poller could first have seen it. */
    first_terminal_poll_at: (number | null)[];
  };
}

const flags = parseFlags(process.argv.slice(2));
const latencyMs = numberFlag(flags, "latency-ms", 0);
const rng = seededRng(numberFlag(flags, "seed", 1));
const apiKey = flags.get("api-key");
if (!apiKey) throw new Error("--api-key is required");
const expectedAuth = `Bearer ${apiKey}`;

// Jobs, by index. Typed arrays grow by doubling.
let cap = 1024;
let count = 0;
let startAt = new Float64Array(cap);
let endAt = new Float64Array(cap);
const ids: string[] = [];
const types: string[] = [];
const index = new Map<string, number>();
const processingBody: Buffer[] = [];
const queuedBody: (Buffer | undefined)[] = [];
const completedBody: (Buffer | undefined)[] = [];

// The poll log: one entry per GET of a known job.
let logCap = 1 << 16;
let logLen = 0;
let logT = new Float64Array(logCap);
let logJob = new Int32Array(logCap);
let logTag = new Uint8Array(logCap);
let unknownPolls = 0;

function growJobs(): void {
  cap *= 2;
  const s = new Float64Array(cap);
  s.set(startAt);
  startAt = s;
  const e = new Float64Array(cap);
  e.set(endAt);
  endAt = e;
}

function growLog(): void {
  logCap *= 2;
  const t = new Float64Array(logCap);
  t.set(logT);
  logT = t;
  const j = new Int32Array(logCap);
  j.set(logJob);
  logJob = j;
  const g = new Uint8Array(logCap);
  g.set(logTag);
  logTag = g;
}

function jobBody(i: number, status: "queued" | "processing" | "completed"): Buffer {
  const id = ids[i]!;
  const result =
    status === "completed"
      ? JSON.stringify({ storage_url: `https://storage.rendley.com/exports/${id}.mp4`, media_id: `med_${i}` })
      : null;
  return Buffer.from(
    JSON.stringify({
      data: {
        id,
        type: types[i],
        status,
        input_data: JSON.stringify({ project_id: "prj_bench", settings: { target_resolution: "1080p" } }),
        result_data: result,
        error: null,
        acknowledged: false,
        source_type: "api",
        source_id: "prj_bench",
      },
    }),
  );
}

function createJobs(req: CreateJobsRequest): CreateJobsResponse {
  const n = req.count;
  if (!Number.isInteger(n) || n < 0 || n > 5_000_000) throw new Error("count must be an integer 0..5e6");
  const mix = req.mix ?? DEFAULT_MIX;
  const prefix = req.prefix ?? "job_";
  const now = Date.now();
  const out: CreateJobsResponse = { ids: [], types: [], durations_ms: [] };
  for (let k = 0; k < n; k++) {
    let type: string;
    let duration: number | null;
    if (req.durations_ms) {
      duration = req.durations_ms[k] ?? null;
      type = req.types?.[k] ?? "export_video";
    } else {
      const drawn = drawJob(rng, mix);
      type = drawn.type;
      duration = req.never_finish ? null : drawn.durationMs;
    }
    const start = Array.isArray(req.start_at_ms) ? (req.start_at_ms[k] ?? now) : (req.start_at_ms ?? now);
    if (count === cap) growJobs();
    const i = count++;
    const id = `${prefix}${i}`;
    ids.push(id);
    types.push(type);
    index.set(id, i);
    startAt[i] = start;
    endAt[i] = duration === null ? Infinity : start + duration;
    processingBody.push(jobBody(i, "processing"));
    queuedBody.push(undefined);
    completedBody.push(undefined);
    out.ids.push(id);
    out.types.push(type);
    out.durations_ms.push(duration);
  }
  return out;
}

/** Finishes the given jobs (or all) now; jobs already terminal keep their time. */
function completeJobs(body: { ids?: string[]; all?: boolean }): { completed: number; at: number } {
  const at = Date.now();
  let completed = 0;
  const finish = (i: number) => {
    if (endAt[i]! > at) {
      endAt[i] = at;
      completed++;
    }
  };
  if (body.all) for (let i = 0; i < count; i++) finish(i);
  for (const id of body.ids ?? []) {
    const i = index.get(id);
    if (i !== undefined) finish(i);
  }
  return { completed, at };
}

function stats(query: URLSearchParams): FakeStats {
  const since = Number(query.get("since") ?? 0);
  const until = Number(query.get("until") ?? Infinity);
  const interval = Number(query.get("interval_ms") ?? 1000);
  const withJobs = query.get("jobs") === "1";
  const prefix = query.get("prefix") ?? "";
  const lastAt = new Float64Array(count).fill(-Infinity);
  const polls = new Int32Array(count);
  const firstTerminal = new Float64Array(count).fill(NaN);
  const byTag = new Map<number, TagStats>();
  let total = 0;
  let minGap = Infinity;
  let lt1000 = 0;
  let ltInterval = 0;
  for (let k = 0; k < logLen; k++) {
    const t = logT[k]!;
    if (t >= until) break; // appended in arrival order
    const j = logJob[k]!;
    if (Number.isNaN(firstTerminal[j]!) && t >= endAt[j]!) firstTerminal[j] = t;
    const prev = lastAt[j]!;
    lastAt[j] = t;
    if (t < since) continue;
    const tag = logTag[k]!;
    let s = byTag.get(tag);
    if (!s) byTag.set(tag, (s = { polls: 0, min_gap_ms: null, gaps_lt_1000: 0, gaps_lt_interval: 0 }));
    s.polls++;
    total++;
    polls[j]!++;
    if (prev === -Infinity) continue;
    const gap = t - prev;
    if (gap < minGap) minGap = gap;
    if (s.min_gap_ms === null || gap < s.min_gap_ms) s.min_gap_ms = gap;
    if (gap < 1000) {
      lt1000++;
      s.gaps_lt_1000++;
    }
    if (gap < interval) {
      ltInterval++;
      s.gaps_lt_interval++;
    }
  }
  const now = Date.now();
  let terminal = 0;
  for (let i = 0; i < count; i++) if (endAt[i]! <= now) terminal++;
  const result: FakeStats = {
    since,
    until: Number.isFinite(until) ? until : now,
    interval_ms: interval,
    total_polls: total,
    unknown_polls: unknownPolls,
    min_gap_ms: Number.isFinite(minGap) ? minGap : null,
    gaps_lt_1000: lt1000,
    gaps_lt_interval: ltInterval,
    by_tag: Object.fromEntries([...byTag].sort((a, b) => a[0] - b[0]).map(([tag, s]) => [String(tag), s])),
    jobs_total: count,
    jobs_terminal: terminal,
  };
  if (withJobs) {
    const jobs: NonNullable<FakeStats["jobs"]> = {
      ids: [],
      polls: [],
      start_at: [],
      terminal_at: [],
      first_terminal_poll_at: [],
    };
    for (let i = 0; i < count; i++) {
      if (prefix && !ids[i]!.startsWith(prefix)) continue;
      jobs.ids.push(ids[i]!);
      jobs.polls.push(polls[i]!);
      jobs.start_at.push(startAt[i]!);
      jobs.terminal_at.push(endAt[i]! <= now ? endAt[i]! : null);
      jobs.first_terminal_poll_at.push(Number.isNaN(firstTerminal[i]!) ? null : firstTerminal[i]!);
    }
    result.jobs = jobs;
  }
  return result;
}

const NOT_FOUND = Buffer.from(JSON.stringify({ error: { code: "not_found", message: "No job with that id." } }));
const UNAUTHORIZED = Buffer.from(JSON.stringify({ error: { code: "unauthorized", message: "The API key is missing." } }));
const EMPTY_LIST = Buffer.from(JSON.stringify({ data: [] }));
const JSON_HEADERS = { "content-type": "application/json" };

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, JSON_HEADERS);
  res.end(body);
}

async function control(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
  const parsed = new URL(url, "http://127.0.0.1");
  const route = `${req.method} ${parsed.pathname}`;
  try {
    if (route === "POST /_bench/jobs") return sendJson(res, 200, createJobs(JSON.parse(await readBody(req))));
    if (route === "POST /_bench/jobs/complete") return sendJson(res, 200, completeJobs(JSON.parse(await readBody(req))));
    if (route === "GET /_bench/stats") return sendJson(res, 200, stats(parsed.searchParams));
    if (route === "GET /_bench/polls") {
      const i = index.get(parsed.searchParams.get("id") ?? "");
      const times: number[] = [];
      const tags: number[] = [];
      for (let k = 0; i !== undefined && k < logLen; k++) {
        if (logJob[k] === i) {
          times.push(logT[k]!);
          tags.push(logTag[k]!);
        }
      }
      return sendJson(res, 200, {
        times,
        tags,
        start_at: i === undefined ? null : startAt[i],
        end_at: i === undefined ? null : endAt[i],
      });
    }
    sendJson(res, 404, { error: { code: "not_found", message: route } });
  } catch (err) {
    sendJson(res, 400, { error: { code: "bad_request", message: (err as Error).message } });
  }
}

const server = createServer({ keepAlive: true }, (req, res) => {
  const url = req.url ?? "/";
  if (url.charCodeAt(1) === 95 /* "_" */) return void control(req, res, url);
  const t = Date.now();
  // Optional /r<N> prefix: which relay replica polled.
  let p = 0;
  let tag = 0;
  if (url.charCodeAt(1) === 114 /* "r" */) {
    p = 2;
    for (let c = url.charCodeAt(p); c >= 48 && c <= 57; c = url.charCodeAt(++p)) tag = tag * 10 + (c - 48);
    if (tag > 255) tag = 255;
  }
  if (req.method !== "GET" || !url.startsWith("/v1/jobs", p)) return send(res, 404, NOT_FOUND);
  if (req.headers.authorization !== expectedAuth) return send(res, 401, UNAUTHORIZED);
  if (url.charCodeAt(p + 8) !== 47 /* "/" */) return send(res, 200, EMPTY_LIST); // GET /v1/jobs?…: the readiness probe
  const i = index.get(url.slice(p + 9));
  if (i === undefined) {
    unknownPolls++;
    return send(res, 404, NOT_FOUND);
  }
  if (logLen === logCap) growLog();
  logT[logLen] = t;
  logJob[logLen] = i;
  logTag[logLen] = tag;
  logLen++;
  let body: Buffer;
  if (t < startAt[i]!) body = queuedBody[i] ??= jobBody(i, "queued");
  else if (t >= endAt[i]!) body = completedBody[i] ??= jobBody(i, "completed");
  else body = processingBody[i]!;
  if (latencyMs > 0) setTimeout(send, latencyMs, res, 200, body);
  else send(res, 200, body);
});

exitWithParent(() => {
  server.closeAllConnections();
  process.exit(0);
});
await listenAndAnnounce(server, numberFlag(flags, "port", 0));
