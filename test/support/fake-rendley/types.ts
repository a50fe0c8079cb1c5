/** A status as the "Jobs and polling" reference page spells it; the last three are terminal. */
export type JobStatus = "queued" | "processing" | "completed" | "failed" | "canceled";

/** An agent job's status (the agent service, mcp.rendley.com). */
export type AgentJobStatus = "pending" | "running" | "waiting_input" | "completed" | "failed" | "cancelled";

/**
 * Any status a step may carry: the documented ones, `cancelled` (British spelling, as Rendley's clients accept),
 * the agent's, or anything else (e.g. "archived") to test an unknown status.
 */
export type AnyJobStatus = JobStatus | AgentJobStatus | (string & {});

/** Statuses the fake itself treats as final (DELETE answers 409, cancel answers 409). */
export const FAKE_TERMINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "canceled", "cancelled"]);

/** The AI tools of Rendley's clients: `POST /v1/ai/{action}` and `POST /v1/ai/{action}/cost`. */
export const FAKE_AI_ACTIONS = [
  "transcribe",
  "text-to-speech",
  "video-translate",
  "lipsync",
  "voice-isolation",
  "voice-changer",
  "remove-video-background",
  "remove-image-background",
  "upscale-image",
  "upscale-video",
  "generate-image",
  "generate-video",
  "generate-music",
  "generate-sound-effect",
] as const;

/** `error` as Rendley's clients read it: a string, or an object with a message. */
export type FakeJobError = string | { message: string; code?: string; [field: string]: unknown };

/** One state in a job's script. */
export interface FakeJobStep {
  status: AnyJobStatus;
  /** Object → JSON-encoded string in the job; a string is used verbatim (to test malformed data); null → null. */
  result_data?: unknown;
  /** Defaults to null, or "render_failed" ("agent_failed" for agent jobs) for a `failed` step. */
  error?: FakeJobError | null;
  /**
   * A finished job's `output` object (`media_id`, `file_hash`, `project_id`, `mime_type`, `url`, `url_expires_at`).
   * `true` → the job's defaults; an object → its fields over the defaults. Unless the object sets them, `url` is
   * presigned afresh on every read (`${fake.url}/media/<media id>?sig=<n>`) and `url_expires_at` is now + 1 h.
   * Absent or false → no `output` field.
   */
  output?: boolean | Record<string, unknown>;
  /** Extra job fields, copied verbatim over the job object (they may also replace standard fields). */
  extra?: Record<string, unknown>;
}

/** A step, or just its status. */
export type FakeStep = AnyJobStatus | FakeJobStep;

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

/** Which of the fake's two servers a request reached. */
export type FakeHost = "api" | "agent";

/** A request the fake received. */
export interface RecordedRequest {
  /** `api` (url) or `agent` (agentUrl). */
  host: FakeHost;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Date.now() when the request arrived. */
  at: number;
}

/** How start endpoints (export, AI, agent) answer the job id. */
export type JobIdShape = "object" | "data-string" | "bare-string";

/** How `POST /v1/ai/{action}/cost` answers: `{"data":{"credits":N}}`, `N`, or `{"credits":N}`. */
export type AiCostShape = "data" | "number" | "credits";

/** Options of `addJob`. */
export interface AddJobOptions {
  /** Default "job_" + random hex. */
  id?: string;
  /** Default "export_video". */
  type?: string;
  steps: FakeStep[];
  /** The request that created the job (`input_data`); default `{project_id}`. */
  input?: unknown;
  /** The owning account (default: `apiKey`). */
  apiKey?: string;
  /** `api` (default: started over the API) or `studio` (started in the Rendley editor). */
  sourceType?: "api" | "studio";
  /** `project_id` of the job; default `sourceId`, else "prj_test". */
  projectId?: string;
  /** `source_id` of the job; default `projectId`, else "prj_test". */
  sourceId?: string;
}

/** A 429 `QUEUE_FULL` answer with `Retry-After`, as the agent service sends when its queue is full. */
export function queueFull(retryAfterSeconds = 10): ScriptedResponse {
  return {
    status: 429,
    headers: { "retry-after": String(retryAfterSeconds) },
    json: { error: { code: "QUEUE_FULL", message: "The agent queue is full; retry later." } },
  };
}

/** Handle on a running fake Rendley: the job API (`url`) and the agent service (`agentUrl`). */
export interface FakeRendley {
  /** "http://127.0.0.1:<port>": the job API (api.rendley.com). */
  readonly url: string;
  /**
   * "http://127.0.0.1:<port>": the agent service (mcp.rendley.com): `POST /v1/agent`, `GET /v1/jobs/{id}` (also
   * `GET /v1/agent/jobs/{id}`) and `POST /v1/agent/jobs/{id}/cancel`. Same keys and accounts as `url`; agent jobs
   * are 404 on `url` and API jobs are 404 here.
   */
  readonly agentUrl: string;
  /** Requests without `Authorization: Bearer <apiKey>` get 401 {error:{code:"unauthorized",message}} ("UNAUTHORIZED" on the agent host). */
  readonly apiKey: string;
  /**
   * Creates a job that advances one step per GET poll of it: the first GET returns steps[0], the next
   * steps[1], ...; the last step repeats forever. An existing job with the same id is replaced.
   */
  addJob(options: AddJobOptions): string;
  /** `addJob` with `sourceType: "studio"`: a job started in the Rendley editor (listed by default). */
  addEditorJob(options: Omit<AddJobOptions, "sourceType">): string;
  /** An agent job (UUID id by default, type "agent"), polled on `agentUrl` only. */
  addAgentJob(options: { id?: string; steps: FakeStep[]; input?: unknown; projectId?: string; apiKey?: string }): string;
  /** Sets the job's current state directly; the step script is replaced by this one state. */
  setJob(id: string, step: FakeStep): void;
  /**
   * Queues one-shot responses for the next GET(s) of this job id, on either host (consumed in order before
   * normal behaviour, and they do NOT advance the step script). Works for unknown ids too.
   */
  enqueue(id: string, ...responses: ScriptedResponse[]): void;
  /**
   * Queues one-shot responses for the next `POST /v1/export` call(s), consumed in order before normal
   * behaviour (no job is created for them). E.g. `{ status: 402 }`, `{ status: 200, json: {} }`, `{ status: 200, delayMs: 5000 }`.
   */
  enqueueExport(...responses: ScriptedResponse[]): void;
  /** Same for `POST /v1/export/cost` (normally `{"data": {"credits": 10}}`). */
  enqueueCost(...responses: ScriptedResponse[]): void;
  /** Same for `GET /v1/jobs` (the list), e.g. a 20 MiB body or garbage. */
  enqueueList(...responses: ScriptedResponse[]): void;
  /** Same for `POST /v1/ai/{action}` (any action). */
  enqueueAi(...responses: ScriptedResponse[]): void;
  /** Same for `POST /v1/ai/{action}/cost` (any action). */
  enqueueAiCost(...responses: ScriptedResponse[]): void;
  /** Same for `POST /v1/agent` on the agent host, e.g. `queueFull()`. */
  enqueueAgent(...responses: ScriptedResponse[]): void;
  /**
   * How jobs started by `POST /v1/export` behave (default type "export_video", steps queued → processing →
   * completed, advancing one step per GET as for `addJob`).
   */
  setExportScript(script: { type?: string; steps: FakeStep[] }): void;
  /**
   * How jobs started by `POST /v1/ai/{action}` behave, for one action or "*" (every action without its own).
   * Default: type = action with dashes → underscores, steps queued → processing → completed, 12 credits.
   */
  setAiScript(action: string, script: { type?: string; steps: FakeStep[]; credits?: number }): void;
  /** How jobs started by `POST /v1/agent` behave (default pending → running → completed). */
  setAgentScript(script: { steps: FakeStep[] }): void;
  /** How start endpoints answer the job id (default "object": `{"data":{"job_id":…}}`). */
  setJobIdShape(shape: JobIdShape): void;
  /** How AI cost endpoints answer (default "data": `{"data":{"credits":N}}`). */
  setAiCostShape(shape: AiCostShape): void;
  /** A finished agent job expires: from now on it answers 404 JOB_NOT_FOUND and `job(id)` is undefined. */
  evictAgentJob(id: string): void;
  /** Requests with this method and exact path (query excluded), in order, on both hosts unless `host` is given. */
  calls(method: string, path: string, host?: FakeHost): RecordedRequest[];
  /** The `GET /v1/jobs` list requests (not single-job GETs), in order. */
  listCalls(): RecordedRequest[];
  /** All requests received on both hosts, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Number of GET /v1/jobs/{id} requests for that id on either host (whatever they were answered with). */
  polls(id: string): number;
  /** Times (Date.now() ms) of each GET of that id. */
  pollTimes(id: string): number[];
  /** The job object as GET would return it now (without advancing); undefined for unknown or evicted ids. */
  job(id: string): Record<string, unknown> | undefined;
  /** When set, every request on both hosts is answered with this (e.g. 401 for a revoked key) until cleared with null. */
  setOverride(response: ScriptedResponse | null): void;
  /**
   * Opens another Rendley account and returns its API key. A job belongs to the account it was added for
   * (`addJob({ apiKey })`, default: `apiKey`): other accounts get 404 for it and do not see it in the list.
   */
  addAccount(): string;
  /** Drops every connection (including stalled ones) and stops both servers. */
  close(): Promise<void>;
}
