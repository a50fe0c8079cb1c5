import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How a simulated job ends. `canceled` (or Rendley's other spelling `cancelled`) ends it as if someone canceled it. */
export type SimulatedOutcome = "completed" | "failed" | "canceled" | "cancelled";

/** A job's plan: it is `queued` briefly, `processing` until `durationMs`, then reaches its outcome. */
export interface JobPlan {
  outcome?: SimulatedOutcome;
  /** From creation to the terminal status (default 3000). */
  durationMs?: number;
  /** The `error` of a failed job: a string or an object with a message (default "render_failed"). */
  error?: string | { message: string; code?: string };
  /** The `result_data` of a completed job (JSON-encoded for the job object); a default per type otherwise. */
  result?: Record<string, unknown>;
}

/** Which service owns a job: the job API (`url`) or the agent service (`agentUrl`). */
export type SimulatedService = "api" | "agent";

export interface SimulatedJob {
  id: string;
  type: string;
  createdAt: number;
  plan: Required<Pick<JobPlan, "outcome" | "durationMs">> & JobPlan;
  input: unknown;
  service: SimulatedService;
  /** `api` (started over the API) or `studio` (started in the Rendley editor). */
  sourceType: "api" | "studio";
  projectId: string | null;
  /** Set by DELETE /v1/jobs/{id} (or the agent's cancel). */
  canceledAt?: number;
}

/** A running Rendley simulator: the job API and the agent service, each on its own 127.0.0.1 port. */
export interface RendleySimulator {
  /** `http://127.0.0.1:<port>`: the job API (api.rendley.com). */
  readonly url: string;
  /** `http://127.0.0.1:<port>`: the agent service (mcp.rendley.com): POST /v1/agent, GET /v1/jobs/{id}. */
  readonly agentUrl: string;
  /** The only key it accepts (`Authorization: Bearer <apiKey>`), on both. */
  readonly apiKey: string;
  /** Creates a job directly (as another Rendley endpoint or the studio would) and returns its id. */
  addJob(options: { type: string; input?: unknown; sourceType?: "api" | "studio"; projectId?: string } & JobPlan): string;
  /** "Starts a job in the Rendley editor": a studio job (listed by default) going queued → processing → outcome (4 s). */
  startEditorJob(options: { projectId: string; type?: string } & JobPlan): string;
  /** How exports and AI jobs of this project id will go (`project_id` of the start); others complete in 3 s. */
  planProject(projectId: string, plan: JobPlan): void;
  /** The job object as `GET /v1/jobs/{id}` returns it now. */
  job(id: string): Record<string, unknown> | undefined;
  /** Requests served, by `METHOD path-pattern` (e.g. `GET /v1/jobs/{id}`); the agent's start with `agent ` before. */
  readonly requestCounts: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** Starts a job in the simulated Rendley editor (see `RendleySimulator.startEditorJob`); returns its id. */
export function startEditorJob(simulator: RendleySimulator, options: { projectId: string; type?: string } & JobPlan): string {
  return simulator.startEditorJob(options);
}

const QUEUED_MS = 600;
const URL_TTL_MS = 3_600_000;
/** The AI tools (`POST /v1/ai/{action}`, `POST /v1/ai/{action}/cost`); a job's type is the action with `_` for `-`. */
export const AI_ACTIONS: readonly string[] = (
  "transcribe text-to-speech video-translate lipsync voice-isolation voice-changer remove-video-background " +
  "remove-image-background upscale-image upscale-video generate-image generate-video generate-music generate-sound-effect"
).split(" ");
const LIST_FILTERS = { source_type: "source_type", project_id: "project_id", job_type: "type", source_id: "source_id" } as const;

/**
 * Starts a Rendley simulator whose jobs move with time (queued → processing → outcome; the agent's pending →
 * running → outcome), so any client polling at any cadence sees a realistic lifecycle. Job API: POST /v1/export
 * and /v1/export/cost, POST /v1/ai/{action} and /v1/ai/{action}/cost, GET and DELETE /v1/jobs/{id}, GET /v1/jobs
 * (filters source_type — default studio —, project_id, job_type, source_id, acknowledged; newest first). Agent
 * service: POST /v1/agent, GET /v1/jobs/{id} (or /v1/agent/jobs/{id}), POST /v1/agent/jobs/{id}/cancel.
 * @param options.now clock (ms), replaceable for tests
 */
export async function startRendleySimulator(options: { apiKey?: string; now?: () => number } = {}): Promise<RendleySimulator> {
  const apiKey = options.apiKey ?? `rk_sim_${randomBytes(12).toString("hex")}`;
  const now = options.now ?? Date.now;
  const jobs = new Map<string, SimulatedJob>();
  const projectPlans = new Map<string, JobPlan>();
  const requestCounts = new Map<string, number>();
  let url = "";
  let signatures = 0;

  const statusOf = (job: SimulatedJob): string => {
    const agent = job.service === "agent";
    if (job.canceledAt !== undefined) return agent ? "cancelled" : "canceled";
    const age = now() - job.createdAt;
    if (age >= job.plan.durationMs) return agent && job.plan.outcome === "canceled" ? "cancelled" : job.plan.outcome;
    if (age < Math.min(QUEUED_MS, job.plan.durationMs / 3)) return agent ? "pending" : "queued";
    return agent ? "running" : "processing";
  };
  const finished = (job: SimulatedJob) => ["completed", "failed", "canceled", "cancelled"].includes(statusOf(job));

  const render = (job: SimulatedJob): Record<string, unknown> => {
    const status = statusOf(job);
    const media = `med_${job.id.replace(/\W/g, "").slice(-8)}`;
    const common = {
      id: job.id,
      type: job.type,
      status,
      input_data: JSON.stringify(job.input ?? {}),
      result_data: status === "completed" ? JSON.stringify(job.plan.result ?? defaultResult(job, media)) : null,
      error: status === "failed" ? (job.plan.error ?? (job.service === "agent" ? "agent_failed" : "render_failed")) : null,
    };
    if (job.service === "agent") return { ...common, project_id: job.projectId };
    const apiJob = { ...common, acknowledged: false, source_type: job.sourceType, source_id: job.projectId ?? "sim" };
    if (status !== "completed") return { ...apiJob, project_id: job.projectId };
    const link = { url: `${url}/media/${media}?sig=${++signatures}`, url_expires_at: new Date(now() + URL_TTL_MS).toISOString() };
    const output = { media_id: media, project_id: job.projectId, mime_type: mimeOf(job.type), ...link };
    return { ...apiJob, project_id: job.projectId, output };
  };

  const create = (type: string, input: unknown, plan: JobPlan, more: Partial<SimulatedJob> = {}): string => {
    const service = more.service ?? "api";
    const id = service === "agent" ? randomUUID() : `job_${randomBytes(8).toString("hex")}`;
    jobs.set(id, {
      id,
      type,
      input,
      createdAt: now(),
      service,
      sourceType: "api",
      projectId: projectOf(input) ?? null,
      ...more,
      plan: { ...plan, outcome: plan.outcome ?? "completed", durationMs: plan.durationMs ?? 3000 },
    });
    return id;
  };

  const handle = (service: SimulatedService, method: string, target: URL, body: string, res: ServerResponse) => {
    const { pathname: path, searchParams: query } = target;
    const jobMatch = (service === "api" ? /^\/v1\/jobs\/([^/]+)$/ : /^\/v1\/(?:agent\/)?jobs\/([^/]+)(\/cancel)?$/).exec(path);
    const route = jobMatch ? `${method} ${path.replace(jobMatch[1]!, "{id}")}` : `${method} ${path}`;
    const counted = service === "agent" ? `agent ${route}` : route;
    requestCounts.set(counted, (requestCounts.get(counted) ?? 0) + 1);
    if (service === "api" && method === "GET" && path.startsWith("/media/")) return reply(res, 200, { data: "simulated media" });
    if (res.req.headers.authorization !== `Bearer ${apiKey}`) {
      return reply(res, 401, error(service === "agent" ? "UNAUTHORIZED" : "unauthorized", "The API key is missing or invalid."));
    }
    const input = parseObject(body);
    const badRequest = (message: string) => reply(res, 400, error(service === "agent" ? "BAD_REQUEST" : "bad_request", message));

    if (jobMatch) {
      const job = jobs.get(decodeURIComponent(jobMatch[1]!));
      if (!job || job.service !== service) {
        return reply(res, 404, service === "agent" ? error("JOB_NOT_FOUND", "Job not found or expired.") : notFound);
      }
      if (method === "GET" && jobMatch[2] === undefined) return reply(res, 200, { data: render(job) });
      if ((method === "DELETE" && service === "api") || (method === "POST" && jobMatch[2] !== undefined)) {
        const code = service === "agent" ? "JOB_FINISHED" : "job_finished";
        if (finished(job)) return reply(res, 409, error(code, "A job that has already finished cannot be canceled."));
        job.canceledAt = now();
        return reply(res, 200, { data: render(job) });
      }
    }
    if (service === "agent") {
      if (method !== "POST" || path !== "/v1/agent")
        return reply(res, 404, error("NOT_FOUND", `No route for ${method} ${path}.`));
      if (!input) return badRequest("The request body must be a JSON object.");
      if (typeof input.prompt !== "string" || input.prompt.trim() === "") return badRequest("prompt is required.");
      const id = create("agent", input, projectPlans.get(projectOf(input) ?? "") ?? { durationMs: 5000 }, { service: "agent" });
      return reply(res, 200, { data: { job_id: id } });
    }
    if (method === "GET" && path === "/v1/jobs") {
      const ack = query.get("acknowledged");
      if (ack !== null && ack !== "true" && ack !== "false") return badRequest("acknowledged must be true or false.");
      const wanted: Record<string, unknown> = { source_type: "studio" };
      for (const [param, field] of Object.entries(LIST_FILTERS)) if (query.has(param)) wanted[field] = query.get(param);
      if (ack !== null) wanted.acknowledged = ack === "true";
      const list = [...jobs.values()]
        .filter((job) => job.service === "api")
        .reverse()
        .map(render)
        .filter((job) => Object.entries(wanted).every(([field, value]) => job[field] === value));
      return reply(res, 200, { data: list });
    }
    const ai = /^\/v1\/ai\/([^/]+)(\/cost)?$/.exec(path);
    if (method === "POST" && (path === "/v1/export" || path === "/v1/export/cost" || ai)) {
      if (ai && !AI_ACTIONS.includes(ai[1]!)) return reply(res, 404, error("not_found", `No AI tool ${ai[1]}.`));
      if (!input) return badRequest("The request body must be a JSON object.");
      if (typeof input.project_id !== "string") return badRequest("project_id is required.");
      if (path.endsWith("/cost")) return reply(res, 200, { data: { credits: costOf(ai?.[1], input) } });
      const type = ai ? ai[1]!.replace(/-/g, "_") : "export_video";
      const id = create(type, input, projectPlans.get(input.project_id) ?? {});
      return reply(res, 200, { data: { job_id: id } });
    }
    return reply(res, 404, error("not_found", `No route for ${method} ${path}.`));
  };

  const listen = async (service: SimulatedService): Promise<{ server: Server; url: string }> => {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const target = new URL(req.url ?? "/", "http://127.0.0.1");
        try {
          handle(service, req.method ?? "GET", target, Buffer.concat(chunks).toString("utf8"), res);
        } catch {
          reply(res, 500, error("internal_error", "The simulator failed."));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  const api = await listen("api");
  const agent = await listen("agent").catch(async (err: unknown) => {
    await stop(api.server);
    throw err;
  });
  url = api.url;

  return {
    url: api.url,
    agentUrl: agent.url,
    apiKey,
    addJob: ({ type, input, sourceType, projectId, ...plan }) =>
      create(type, input, plan, { sourceType: sourceType ?? "api", projectId: projectId ?? projectOf(input) ?? null }),
    startEditorJob: ({ projectId, type, ...plan }) =>
      create(type ?? "export_video", { project_id: projectId }, { durationMs: 4000, ...plan }, { sourceType: "studio" }),
    planProject: (projectId, plan) => void projectPlans.set(projectId, plan),
    job: (id) => {
      const job = jobs.get(id);
      return job ? render(job) : undefined;
    },
    requestCounts,
    async close() {
      await Promise.all([stop(api.server), stop(agent.server)]);
    },
  };
}

const notFound = { error: { code: "not_found", message: "No job with that id belongs to your account." } };

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
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

/** A made-up price: exports 10 credits (25 at 4k), AI tools 12 (40 for video generation and upscaling). */
function costOf(action: string | undefined, input: Record<string, unknown>): number {
  if (action !== undefined) return action === "generate-video" || action === "upscale-video" ? 40 : 12;
  const settings = input.settings as { target_resolution?: unknown } | undefined;
  return settings?.target_resolution === "2160p" ? 25 : 10;
}

function mimeOf(type: string): string {
  if (/image/.test(type)) return "image/png";
  if (/speech|voice|music|sound/.test(type)) return "audio/mpeg";
  return /transcri/.test(type) ? "application/json" : "video/mp4";
}

function defaultResult(job: SimulatedJob, media: string): Record<string, unknown> {
  switch (job.type) {
    case "agent":
      return { text: "Done: the project was edited as asked.", thread_id: `thr_${job.id.slice(0, 8)}` };
    case "transcription":
    case "transcribe":
      return { text: "Welcome to the demo. Every status change reaches you as a signed callback.", language_code: "en" };
    case "generate_image":
      return { image_url: `https://storage.rendley.com/images/${job.id}.png`, media_id: media };
    default:
      return { storage_url: `https://storage.rendley.com/exports/${job.id}.mp4`, media_id: media, mime_type: mimeOf(job.type) };
  }
}
