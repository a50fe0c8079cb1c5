import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { flattenHeaders } from "./http.js";

/** A Rendley job status; the last three are terminal. */
export type JobStatus = "queued" | "processing" | "completed" | "failed" | "canceled";

/** One state in a job's script. */
export interface FakeJobStep {
  status: JobStatus;
  /** Object → JSON-encoded string in the job; a string is used verbatim (to test malformed data); null → null. */
  result_data?: unknown;
  /** Defaults to null, or "render_failed" for a failed step. */
  error?: string | null;
}

/** A canned HTTP answer. Without `body`/`json`, a 4xx/5xx gets a default `{error:{code,message}}` body. */
export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  /** Raw body, e.g. "not json". */
  body?: string;
  /** Serialised as the JSON body (ignored when `body` is given). */
  json?: unknown;
  /** Stall this long before answering. */
  delayMs?: number;
}

/** A request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Date.now() when the request arrived. */
  at: number;
}

/** Handle on a running fake Rendley API. */
export interface FakeRendley {
  /** "http://127.0.0.1:<port>" */
  readonly url: string;
  /** Requests without `Authorization: Bearer <apiKey>` get 401 {error:{code:"unauthorized",message}}. */
  readonly apiKey: string;
  /**
   * Creates a job that advances one step per GET poll of it: the first GET returns steps[0], the next
   * steps[1], ...; the last step repeats forever. id defaults to "job_" + random hex, type to "export_video".
   * An existing job with the same id is replaced.
   */
  addJob(options: {
    id?: string;
    type?: string;
    steps: Array<JobStatus | FakeJobStep>;
    input?: unknown;
    apiKey?: string;
  }): string;
  /** Sets the job's current state directly; the step script is replaced by this one state. */
  setJob(id: string, step: JobStatus | FakeJobStep): void;
  /**
   * Queues one-shot responses for the next GET(s) of this job id (consumed in order before normal
   * behaviour, and they do NOT advance the step script). Works for unknown ids too.
   */
  enqueue(id: string, ...responses: ScriptedResponse[]): void;
  /**
   * Queues one-shot responses for the next `POST /v1/export` call(s), consumed in order before normal
   * behaviour (no job is created for them). E.g. `{ status: 402 }`, `{ status: 200, json: {} }`, `{ status: 200, delayMs: 5000 }`.
   */
  enqueueExport(...responses: ScriptedResponse[]): void;
  /** Same for `POST /v1/export/cost` (normally `{"data": {"credits": 10}}`). */
  enqueueCost(...responses: ScriptedResponse[]): void;
  /**
   * How jobs started by `POST /v1/export` behave (default type "export_video", steps queued → processing →
   * completed, advancing one step per GET as for `addJob`).
   */
  setExportScript(script: { type?: string; steps: Array<JobStatus | FakeJobStep> }): void;
  /** Requests with this method and path, in order (e.g. `calls("POST", "/v1/export")`). */
  calls(method: string, path: string): RecordedRequest[];
  /** All requests received, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Number of GET /v1/jobs/{id} requests for that id (whatever they were answered with). */
  polls(id: string): number;
  /** Times (Date.now() ms) of each GET of that id. */
  pollTimes(id: string): number[];
  /** The job object as GET would return it now (without advancing); undefined for unknown ids. */
  job(id: string): Record<string, unknown> | undefined;
  /** When set, every request is answered with this (e.g. 401 for a revoked key) until cleared with null. */
  setOverride(response: ScriptedResponse | null): void;
  /**
   * Opens another Rendley account and returns its API key. A job belongs to the account it was added for
   * (`addJob({ apiKey })`, default: `apiKey`): other accounts get 404 for it, as "No job with that id belongs
   * to your account" says.
   */
  addAccount(): string;
  /** Drops every connection (including stalled ones) and stops the server. */
  close(): Promise<void>;
}

interface JobRecord {
  id: string;
  /** The API key of the account that owns the job. */
  account: string;
  type: string;
  input: unknown;
  sourceId: string;
  mediaId: string;
  steps: FakeJobStep[];
  /** Index of the step the job is in now; a GET returns it, then advances. */
  cursor: number;
}

const TERMINAL: ReadonlySet<JobStatus> = new Set(["completed", "failed", "canceled"]);

const DEFAULT_ERROR_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  402: "payment_required",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  429: "rate_limited",
};

/** Starts a fake Rendley job API on 127.0.0.1 (random port) that follows the "Jobs and polling" reference page. */
export async function startFakeRendley(options: { apiKey?: string } = {}): Promise<FakeRendley> {
  const apiKey = options.apiKey ?? `rk_test_${hex(12)}`;
  const accounts = new Set([apiKey]);
  const jobs = new Map<string, JobRecord>();
  const scripted = new Map<string, ScriptedResponse[]>();
  const scriptedPosts = new Map<string, ScriptedResponse[]>();
  let exportScript: { type?: string; steps: Array<JobStatus | FakeJobStep> } = { steps: ["queued", "processing", "completed"] };
  const pollLog = new Map<string, number[]>();
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let override: ScriptedResponse | null = null;

  const current = (job: JobRecord): FakeJobStep => job.steps[Math.min(job.cursor, job.steps.length - 1)]!;

  const render = (job: JobRecord): Record<string, unknown> => {
    const step = current(job);
    return {
      id: job.id,
      type: job.type,
      status: step.status,
      input_data: JSON.stringify(job.input ?? {}),
      result_data: resultData(job, step),
      error: step.status === "failed" ? (step.error === undefined ? "render_failed" : step.error) : (step.error ?? null),
      acknowledged: false,
      source_type: "api",
      source_id: job.sourceId,
    };
  };

  const createJob = (o: {
    id?: string;
    type?: string;
    steps: Array<JobStatus | FakeJobStep>;
    input?: unknown;
    sourceId?: string;
    apiKey?: string;
  }): string => {
    if (o.steps.length === 0) throw new Error("addJob: steps must not be empty");
    const id = o.id ?? `job_${hex(8)}`;
    jobs.set(id, {
      id,
      account: o.apiKey ?? apiKey,
      type: o.type ?? "export_video",
      input: o.input ?? { project_id: o.sourceId ?? "prj_test" },
      sourceId: o.sourceId ?? "prj_test",
      mediaId: `med_${hex(8)}`,
      steps: o.steps.map(toStep),
      cursor: 0,
    });
    return id;
  };

  const send = (res: ServerResponse, response: ScriptedResponse): void => {
    const write = (): void => {
      if (res.destroyed || res.writableEnded) return;
      const headers: Record<string, string> = { ...response.headers };
      let body = response.body;
      if (body === undefined && response.json !== undefined) body = JSON.stringify(response.json);
      if (body === undefined && response.status >= 400) body = JSON.stringify(errorBody(response.status));
      if (body !== undefined && response.body === undefined && !hasHeader(headers, "content-type")) {
        headers["content-type"] = "application/json";
      }
      res.writeHead(response.status, headers);
      res.end(body ?? "");
    };
    if (response.delayMs && response.delayMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        write();
      }, response.delayMs);
      timers.add(timer);
    } else {
      write();
    }
  };

  const json = (res: ServerResponse, status: number, value: unknown): void => send(res, { status, json: value });
  const error = (res: ServerResponse, status: number, code: string, message: string): void =>
    json(res, status, { error: { code, message } });

  const handle = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest): void => {
    const { method, path, query } = recorded;
    const jobMatch = /^\/v1\/jobs\/([^/]+)$/.exec(path);
    const jobId = jobMatch ? safeDecode(jobMatch[1]!) : undefined;

    if (method === "GET" && jobId !== undefined) {
      const times = pollLog.get(jobId) ?? [];
      times.push(recorded.at);
      pollLog.set(jobId, times);
    }
    if (override) return send(res, override);
    const caller = bearerOf(req.headers.authorization);
    if (caller === undefined || !accounts.has(caller)) {
      return error(res, 401, "unauthorized", "The API key is missing, malformed, or invalid.");
    }
    const mine = (id: string) => {
      const job = jobs.get(id);
      return job && job.account === caller ? job : undefined;
    };

    if (jobId !== undefined && method === "GET") {
      const queue = scripted.get(jobId);
      const next = queue?.shift();
      if (next) return send(res, next);
      const job = mine(jobId);
      if (!job) return error(res, 404, "not_found", `No job with id ${jobId}.`);
      const body = { data: render(job) };
      job.cursor = Math.min(job.cursor + 1, job.steps.length - 1);
      return json(res, 200, body);
    }

    if (jobId !== undefined && method === "DELETE") {
      const job = mine(jobId);
      if (!job) return error(res, 404, "not_found", `No job with id ${jobId}.`);
      if (TERMINAL.has(current(job).status)) {
        return error(res, 409, "job_finished", `Job ${jobId} has already finished and cannot be canceled.`);
      }
      job.steps = [{ status: "canceled" }];
      job.cursor = 0;
      return json(res, 200, { data: render(job) });
    }

    if (path === "/v1/jobs" && method === "GET") {
      const sourceType = query.source_type ?? "studio";
      const list = [...jobs.values()]
        .filter((job) => job.account === caller)
        .filter(() => sourceType === "api")
        .filter((job) => query.job_type === undefined || job.type === query.job_type)
        .filter((job) => query.project_id === undefined || job.sourceId === query.project_id)
        .filter(() => query.acknowledged === undefined || query.acknowledged === "false")
        .map(render);
      return json(res, 200, { data: list });
    }

    if (method === "POST" && (path === "/v1/export" || path === "/v1/export/cost")) {
      const next = scriptedPosts.get(path)?.shift();
      if (next) return send(res, next);
      const input = parseObject(recorded.body);
      if (!input) return error(res, 400, "bad_request", "The request body must be a JSON object.");
      if (path === "/v1/export/cost") return json(res, 200, { data: { credits: 10 } });
      const projectId = typeof input.project_id === "string" ? input.project_id : undefined;
      const id = createJob({ ...exportScript, input, sourceId: projectId, apiKey: caller });
      return json(res, 200, { data: { job_id: id } });
    }

    return error(res, 404, "not_found", `No route for ${method} ${path}.`);
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: flattenHeaders(req),
        body: Buffer.concat(chunks).toString("utf8"),
        at,
      };
      requests.push(recorded);
      try {
        handle(req, res, recorded);
      } catch (err) {
        error(res, 500, "internal_error", err instanceof Error ? err.message : String(err));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    addJob: (o) => createJob(o),
    setJob(id, step) {
      const job = jobs.get(id);
      if (!job) throw new Error(`setJob: unknown job ${id}`);
      job.steps = [toStep(step)];
      job.cursor = 0;
    },
    enqueue(id, ...responses) {
      scripted.set(id, [...(scripted.get(id) ?? []), ...responses]);
    },
    enqueueExport(...responses) {
      scriptedPosts.set("/v1/export", [...(scriptedPosts.get("/v1/export") ?? []), ...responses]);
    },
    enqueueCost(...responses) {
      scriptedPosts.set("/v1/export/cost", [...(scriptedPosts.get("/v1/export/cost") ?? []), ...responses]);
    },
    setExportScript(script) {
      exportScript = { ...script, steps: [...script.steps] };
    },
    calls: (method, path) => requests.filter((r) => r.method === method && r.path === path),
    get requests() {
      return requests;
    },
    polls: (id) => pollLog.get(id)?.length ?? 0,
    pollTimes: (id) => [...(pollLog.get(id) ?? [])],
    job(id) {
      const job = jobs.get(id);
      return job ? render(job) : undefined;
    },
    addAccount() {
      const key = `rk_test_${hex(12)}`;
      accounts.add(key);
      return key;
    },
    setOverride(response) {
      override = response;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function toStep(step: JobStatus | FakeJobStep): FakeJobStep {
  return typeof step === "string" ? { status: step } : { ...step };
}

function resultData(job: JobRecord, step: FakeJobStep): string | null {
  const given = step.result_data;
  if (given === undefined) {
    if (step.status !== "completed") return null;
    return JSON.stringify({ storage_url: `https://storage.rendley.com/exports/${job.id}.mp4`, media_id: job.mediaId });
  }
  if (given === null) return null;
  return typeof given === "string" ? given : JSON.stringify(given);
}

function errorBody(status: number): { error: { code: string; message: string } } {
  const code = DEFAULT_ERROR_CODES[status] ?? (status >= 500 ? "internal_error" : "error");
  return { error: { code, message: `Scripted ${status} response.` } };
}

function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
