import { randomBytes, randomUUID } from "node:crypto";
import {
  FAKE_TERMINAL_STATUSES,
  type AiCostShape,
  type FakeHost,
  type FakeJobStep,
  type FakeStep,
  type JobIdShape,
  type RecordedRequest,
  type ScriptedResponse,
} from "./types.js";

/** A job as the fake keeps it. */
export interface JobRecord {
  id: string;
  /** The API key of the account that owns the job. */
  account: string;
  /** The host that answers for it: `api` jobs are 404 on the agent host and vice versa. */
  host: FakeHost;
  type: string;
  input: unknown;
  sourceType: "api" | "studio";
  sourceId: string;
  projectId: string | null;
  mediaId: string;
  fileHash: string;
  mimeType: string;
  /** `result_data` of a completed step without its own; the export default when absent. */
  defaultResult?: Record<string, unknown>;
  steps: FakeJobStep[];
  /** Index of the step the job is in now; a GET returns it, then advances. */
  cursor: number;
  /** Creation order, for the newest-first list. */
  seq: number;
  /** Set by `evictAgentJob`: the job answers 404 JOB_NOT_FOUND. */
  evicted?: boolean;
}

/** A start endpoint's script. */
export interface Script {
  type?: string;
  steps: FakeStep[];
  credits?: number;
}

/** Everything the two servers share. */
export interface FakeState {
  apiKey: string;
  /** Base URL of the api host (for presigned links); set once it listens. */
  url: string;
  accounts: Set<string>;
  jobs: Map<string, JobRecord>;
  /** One-shot answers for GETs of a job id. */
  scripted: Map<string, ScriptedResponse[]>;
  /** One-shot answers by queue: "/v1/export", "/v1/export/cost", "list", "ai", "ai-cost", "agent". */
  queues: Map<string, ScriptedResponse[]>;
  exportScript: Script;
  aiScripts: Map<string, Script>;
  agentScript: Script;
  jobIdShape: JobIdShape;
  aiCostShape: AiCostShape;
  pollLog: Map<string, number[]>;
  requests: RecordedRequest[];
  timers: Set<NodeJS.Timeout>;
  override: ScriptedResponse | null;
  seq: number;
  signatures: number;
  /** Presigned links handed out: sig → media id and expiry. */
  issued: Map<string, { mediaId: string; expiresAt: number }>;
}

export const URL_TTL_MS = 3_600_000;

export function createState(apiKey: string): FakeState {
  return {
    apiKey,
    url: "",
    accounts: new Set([apiKey]),
    jobs: new Map(),
    scripted: new Map(),
    queues: new Map(),
    exportScript: { steps: ["queued", "processing", "completed"] },
    aiScripts: new Map(),
    agentScript: { steps: ["pending", "running", "completed"] },
    jobIdShape: "object",
    aiCostShape: "data",
    pollLog: new Map(),
    requests: [],
    timers: new Set(),
    override: null,
    seq: 0,
    signatures: 0,
    issued: new Map(),
  };
}

export function pushQueue(state: FakeState, name: string, responses: ScriptedResponse[]): void {
  state.queues.set(name, [...(state.queues.get(name) ?? []), ...responses]);
}

export function shiftQueue(state: FakeState, name: string): ScriptedResponse | undefined {
  return state.queues.get(name)?.shift();
}

export const current = (job: JobRecord): FakeJobStep => job.steps[Math.min(job.cursor, job.steps.length - 1)]!;

export const isFinished = (job: JobRecord): boolean => FAKE_TERMINAL_STATUSES.has(current(job).status);

export function toStep(step: FakeStep): FakeJobStep {
  return typeof step === "string" ? { status: step } : { ...step };
}

/** What `createJob` needs beyond the script. */
export interface NewJob {
  id?: string;
  host?: FakeHost;
  type?: string;
  steps: FakeStep[];
  input?: unknown;
  apiKey?: string;
  sourceType?: "api" | "studio";
  projectId?: string | null;
  sourceId?: string;
  mimeType?: string;
  defaultResult?: (id: string, mediaId: string, fileHash: string) => Record<string, unknown>;
}

export function createJob(state: FakeState, o: NewJob): string {
  if (o.steps.length === 0) throw new Error("addJob: steps must not be empty");
  const host = o.host ?? "api";
  const id = o.id ?? (host === "agent" ? randomUUID() : `job_${hex(8)}`);
  const projectId = o.projectId === undefined ? (o.sourceId ?? "prj_test") : o.projectId;
  const sourceId = o.sourceId ?? projectId ?? "prj_test";
  const mediaId = `med_${hex(8)}`;
  const fileHash = hex(32);
  state.jobs.set(id, {
    id,
    account: o.apiKey ?? state.apiKey,
    host,
    type: o.type ?? (host === "agent" ? "agent" : "export_video"),
    input: o.input ?? (projectId === null ? {} : { project_id: projectId }),
    sourceType: o.sourceType ?? "api",
    sourceId,
    projectId,
    mediaId,
    fileHash,
    mimeType: o.mimeType ?? "video/mp4",
    defaultResult: o.defaultResult?.(id, mediaId, fileHash),
    steps: o.steps.map(toStep),
    cursor: 0,
    seq: ++state.seq,
  });
  return id;
}

/** The job object as GET returns it now (presigning `output.url` afresh), without advancing. */
export function renderJob(state: FakeState, job: JobRecord): Record<string, unknown> {
  const step = current(job);
  const failedError = job.host === "agent" ? "agent_failed" : "render_failed";
  const error = step.status === "failed" ? (step.error === undefined ? failedError : step.error) : (step.error ?? null);
  const common = {
    id: job.id,
    type: job.type,
    status: step.status,
    input_data: JSON.stringify(job.input ?? {}),
    result_data: resultData(job, step),
    error,
  };
  const rendered: Record<string, unknown> =
    job.host === "agent"
      ? { ...common, project_id: job.projectId }
      : { ...common, acknowledged: false, source_type: job.sourceType, source_id: job.sourceId, project_id: job.projectId };
  if (step.output !== undefined && step.output !== false) rendered.output = outputOf(state, job, step.output);
  return { ...rendered, ...step.extra };
}

function resultData(job: JobRecord, step: FakeJobStep): string | null {
  const given = step.result_data;
  if (given === undefined) {
    if (step.status !== "completed") return null;
    return JSON.stringify(
      job.defaultResult ?? { storage_url: `https://storage.rendley.com/exports/${job.id}.mp4`, media_id: job.mediaId },
    );
  }
  if (given === null) return null;
  return typeof given === "string" ? given : JSON.stringify(given);
}

function outputOf(state: FakeState, job: JobRecord, given: true | Record<string, unknown>): Record<string, unknown> {
  const fields = given === true ? {} : given;
  const out: Record<string, unknown> = {
    media_id: job.mediaId,
    file_hash: job.fileHash,
    project_id: job.projectId,
    mime_type: job.mimeType,
    ...fields,
  };
  if (!Object.hasOwn(fields, "url")) out.url = presign(state, typeof out.media_id === "string" ? out.media_id : job.mediaId);
  if (!Object.hasOwn(fields, "url_expires_at")) out.url_expires_at = new Date(Date.now() + URL_TTL_MS).toISOString();
  return out;
}

/** A fresh, time-limited link to the media: `${url}/media/<media id>?sig=<n>`, served by the api host. */
function presign(state: FakeState, mediaId: string): string {
  const sig = String(++state.signatures);
  state.issued.set(sig, { mediaId, expiresAt: Date.now() + URL_TTL_MS });
  return `${state.url}/media/${encodeURIComponent(mediaId)}?sig=${sig}`;
}

/** The body a start endpoint answers for a new job id, in the configured shape. */
export function startAnswer(state: FakeState, id: string): unknown {
  if (state.jobIdShape === "bare-string") return id;
  return state.jobIdShape === "data-string" ? { data: id } : { data: { job_id: id } };
}

export function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
