import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How a simulated job ends. `canceled` ends it as if someone canceled it in Rendley. */
export type SimulatedOutcome = "completed" | "failed" | "canceled";

/** A job's plan: it is `queued` briefly, `processing` until `durationMs`, then reaches its outcome. */
export interface JobPlan {
  outcome?: SimulatedOutcome;
  /** From creation to the terminal status (default 3000). */
  durationMs?: number;
  /** The `error` of a failed job (default "render_failed"). */
  error?: string;
  /** The `result_data` of a completed job (JSON-encoded for the job object); a default per type otherwise. */
  result?: Record<string, unknown>;
}

export interface SimulatedJob {
  id: string;
  type: string;
  createdAt: number;
  plan: Required<Pick<JobPlan, "outcome" | "durationMs">> & JobPlan;
  input: unknown;
  /** Set by DELETE /v1/jobs/{id}. */
  canceledAt?: number;
}

/** A running Rendley simulator: the job API of the "Jobs and polling" reference page, on 127.0.0.1. */
export interface RendleySimulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The only key it accepts (`Authorization: Bearer <apiKey>`). */
  readonly apiKey: string;
  /** Creates a job directly (as another Rendley endpoint or the studio would) and returns its id. */
  addJob(options: { type: string; input?: unknown } & JobPlan): string;
  /** How exports of this project id will go (POST /v1/export with `project_id`); other projects complete in 3 s. */
  planProject(projectId: string, plan: JobPlan): void;
  /** The job object as `GET /v1/jobs/{id}` returns it now. */
  job(id: string): Record<string, unknown> | undefined;
  /** Requests served, by `METHOD path-pattern` (e.g. `GET /v1/jobs/{id}`). */
  readonly requestCounts: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

const QUEUED_MS = 600;

/**
 * Starts a Rendley simulator whose jobs move with time (queued → processing → outcome), so any client
 * polling at any cadence sees a realistic lifecycle. It implements POST /v1/export, POST /v1/export/cost,
 * GET /v1/jobs/{id}, DELETE /v1/jobs/{id} and GET /v1/jobs, with the reference page's statuses and envelopes.
 * @param options.now clock (ms), replaceable for tests
 */
export async function startRendleySimulator(options: { apiKey?: string; now?: () => number } = {}): Promise<RendleySimulator> {
  const apiKey = options.apiKey ?? `rk_sim_${randomBytes(12).toString("hex")}`;
  const now = options.now ?? Date.now;
  const jobs = new Map<string, SimulatedJob>();
  const projectPlans = new Map<string, JobPlan>();
  const requestCounts = new Map<string, number>();

  const statusOf = (job: SimulatedJob): string => {
    const at = now();
    if (job.canceledAt !== undefined) return "canceled";
    const age = at - job.createdAt;
    if (age >= job.plan.durationMs) return job.plan.outcome;
    return age < Math.min(QUEUED_MS, job.plan.durationMs / 3) ? "queued" : "processing";
  };

  const render = (job: SimulatedJob): Record<string, unknown> => {
    const status = statusOf(job);
    return {
      id: job.id,
      type: job.type,
      status,
      input_data: JSON.stringify(job.input ?? {}),
      result_data: status === "completed" ? JSON.stringify(job.plan.result ?? defaultResult(job)) : null,
      error: status === "failed" ? (job.plan.error ?? "render_failed") : null,
      acknowledged: false,
      source_type: "api",
      source_id: projectOf(job.input) ?? "sim",
    };
  };

  const create = (type: string, input: unknown, plan: JobPlan): string => {
    const id = `job_${randomBytes(8).toString("hex")}`;
    jobs.set(id, {
      id,
      type,
      input,
      createdAt: now(),
      plan: { ...plan, outcome: plan.outcome ?? "completed", durationMs: plan.durationMs ?? 3000 },
    });
    return id;
  };

  const handle = (method: string, path: string, body: string, res: ServerResponse, auth: string | undefined) => {
    const jobMatch = /^\/v1\/jobs\/([^/]+)$/.exec(path);
    const route = jobMatch ? `${method} /v1/jobs/{id}` : `${method} ${path}`;
    requestCounts.set(route, (requestCounts.get(route) ?? 0) + 1);
    if (auth !== `Bearer ${apiKey}`)
      return reply(res, 401, error("unauthorized", "The API key is missing, malformed, or invalid."));

    if (jobMatch) {
      const job = jobs.get(decodeURIComponent(jobMatch[1]!));
      if (!job) return reply(res, 404, error("not_found", "No job with that id belongs to your account."));
      if (method === "GET") return reply(res, 200, { data: render(job) });
      if (method === "DELETE") {
        if (["completed", "failed", "canceled"].includes(statusOf(job))) {
          return reply(res, 409, error("job_finished", "A job that has already finished cannot be canceled."));
        }
        job.canceledAt = now();
        return reply(res, 200, { data: render(job) });
      }
    }
    if (method === "GET" && path === "/v1/jobs") {
      return reply(res, 200, { data: [...jobs.values()].map(render) });
    }
    if (method === "POST" && (path === "/v1/export" || path === "/v1/export/cost")) {
      const input = parseObject(body);
      if (!input) return reply(res, 400, error("bad_request", "The request body must be a JSON object."));
      if (typeof input.project_id !== "string") return reply(res, 400, error("bad_request", "project_id is required."));
      if (path === "/v1/export/cost") return reply(res, 200, { data: { credits: costOf(input) } });
      const id = create("export_video", input, projectPlans.get(input.project_id) ?? {});
      return reply(res, 200, { data: { job_id: id } });
    }
    return reply(res, 404, error("not_found", `No route for ${method} ${path}.`));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
      try {
        handle(req.method ?? "GET", path, Buffer.concat(chunks).toString("utf8"), res, req.headers.authorization);
      } catch {
        reply(res, 500, error("internal_error", "The simulator failed."));
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
    addJob: ({ type, input, ...plan }) => create(type, input, plan),
    planProject: (projectId, plan) => void projectPlans.set(projectId, plan),
    job: (id) => {
      const job = jobs.get(id);
      return job ? render(job) : undefined;
    },
    requestCounts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function projectOf(input: unknown): string | undefined {
  const id = (input as { project_id?: unknown } | null)?.project_id;
  return typeof id === "string" ? id : undefined;
}

/** A made-up price: 10 credits, 25 at 4k. */
function costOf(input: Record<string, unknown>): number {
  const settings = input.settings as { target_resolution?: unknown } | undefined;
  return settings?.target_resolution === "2160p" ? 25 : 10;
}

function defaultResult(job: SimulatedJob): Record<string, unknown> {
  const media = `med_${job.id.slice(4, 12)}`;
  switch (job.type) {
    case "transcription":
      return { transcript: "Welcome to the demo. Every status change reaches you as a signed callback.", language: "en" };
    case "generate_image":
      return { image_url: `https://storage.rendley.com/images/${job.id}.png`, media_id: media };
    default:
      return { storage_url: `https://storage.rendley.com/exports/${job.id}.mp4`, media_id: media };
  }
}
