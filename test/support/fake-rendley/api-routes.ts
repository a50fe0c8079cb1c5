import type { Responder } from "./respond.js";
import { parseObject } from "./respond.js";
import {
  createJob,
  isFinished,
  renderJob,
  shiftQueue,
  startAnswer,
  type FakeState,
  type JobRecord,
  type NewJob,
} from "./state.js";
import { FAKE_AI_ACTIONS, type RecordedRequest } from "./types.js";

const AI_ACTIONS: ReadonlySet<string> = new Set(FAKE_AI_ACTIONS);
/** The list's filters besides source_type and acknowledged, and the job field each compares. */
const LIST_FILTERS = { project_id: "project_id", job_type: "type", source_id: "source_id" } as const;

/** The api host (api.rendley.com) for an authenticated `caller`: jobs, the list, export and the AI tools. */
export function handleApi(state: FakeState, caller: string, recorded: RecordedRequest, r: Responder, jobId?: string): void {
  const { method, path, query } = recorded;
  const mine = (id: string): JobRecord | undefined => {
    const job = state.jobs.get(id);
    return job && job.account === caller && job.host === "api" ? job : undefined;
  };

  if (jobId !== undefined && method === "GET") {
    const next = state.scripted.get(jobId)?.shift();
    if (next) return r.send(next);
    const job = mine(jobId);
    if (!job) return r.error(404, "not_found", `No job with id ${jobId}.`);
    const body = { data: renderJob(state, job) };
    job.cursor = Math.min(job.cursor + 1, job.steps.length - 1);
    return r.json(200, body);
  }

  if (jobId !== undefined && method === "DELETE") {
    const job = mine(jobId);
    if (!job) return r.error(404, "not_found", `No job with id ${jobId}.`);
    if (isFinished(job)) return r.error(409, "job_finished", `Job ${jobId} has already finished and cannot be canceled.`);
    job.steps = [{ status: "canceled" }];
    job.cursor = 0;
    return r.json(200, { data: renderJob(state, job) });
  }

  if (path === "/v1/jobs" && method === "GET") {
    const next = shiftQueue(state, "list");
    if (next) return r.send(next);
    const acknowledged = query.acknowledged;
    if (acknowledged !== undefined && acknowledged !== "true" && acknowledged !== "false") {
      return r.error(400, "bad_request", "acknowledged must be true or false.");
    }
    const wanted: Record<string, unknown> = { source_type: query.source_type ?? "studio" };
    for (const [param, field] of Object.entries(LIST_FILTERS)) if (query[param] !== undefined) wanted[field] = query[param];
    if (acknowledged !== undefined) wanted.acknowledged = acknowledged === "true";
    const list = [...state.jobs.values()]
      .filter((job) => job.account === caller && job.host === "api")
      .sort((a, b) => b.seq - a.seq)
      .map((job) => renderJob(state, job))
      .filter((job) => Object.entries(wanted).every(([field, value]) => job[field] === value));
    return r.json(200, { data: list });
  }

  if (method === "POST" && (path === "/v1/export" || path === "/v1/export/cost")) {
    const next = shiftQueue(state, path);
    if (next) return r.send(next);
    const input = parseObject(recorded.body);
    if (!input) return r.error(400, "bad_request", "The request body must be a JSON object.");
    if (path === "/v1/export/cost") return r.json(200, { data: { credits: 10 } });
    const projectId = typeof input.project_id === "string" ? input.project_id : undefined;
    const id = createJob(state, { ...state.exportScript, input, sourceId: projectId, apiKey: caller });
    return r.json(200, startAnswer(state, id));
  }

  const ai = /^\/v1\/ai\/([^/]+)(\/cost)?$/.exec(path);
  if (method === "POST" && ai) {
    const action = ai[1]!;
    const cost = ai[2] !== undefined;
    if (!AI_ACTIONS.has(action)) return r.error(404, "not_found", `No AI tool ${action}.`);
    const next = shiftQueue(state, cost ? "ai-cost" : "ai");
    if (next) return r.send(next);
    const input = parseObject(recorded.body);
    if (!input) return r.error(400, "bad_request", "The request body must be a JSON object.");
    if (typeof input.project_id !== "string" || input.project_id === "") {
      return r.error(400, "bad_request", "project_id is required.");
    }
    const script = state.aiScripts.get(action) ?? state.aiScripts.get("*");
    if (cost) {
      const credits = script?.credits ?? 12;
      return r.json(
        200,
        state.aiCostShape === "number" ? credits : state.aiCostShape === "credits" ? { credits } : { data: { credits } },
      );
    }
    const id = createJob(state, {
      ...aiJob(action),
      ...(script?.type !== undefined ? { type: script.type } : {}),
      steps: script?.steps ?? ["queued", "processing", "completed"],
      input,
      projectId: input.project_id,
      apiKey: caller,
    });
    return r.json(200, startAnswer(state, id));
  }

  return r.error(404, "not_found", `No route for ${method} ${path}.`);
}

const IMAGE = new Set(["remove-image-background", "upscale-image", "generate-image"]);
const AUDIO = new Set(["text-to-speech", "voice-isolation", "voice-changer", "generate-music", "generate-sound-effect"]);

/** An AI job's type, mime type and default `result_data` (the keys Rendley's clients read). */
function aiJob(action: string): Pick<NewJob, "type" | "mimeType" | "defaultResult"> {
  const type = action.replace(/-/g, "_");
  if (action === "transcribe") {
    return {
      type,
      mimeType: "application/json",
      defaultResult: (_id, mediaId, fileHash) => ({
        text: "Welcome to the fake transcript.",
        language_code: "en",
        media_id: mediaId,
        file_hash: fileHash,
        mime_type: "application/json",
      }),
    };
  }
  const [mimeType, ext] = IMAGE.has(action)
    ? ["image/png", "png"]
    : AUDIO.has(action)
      ? ["audio/mpeg", "mp3"]
      : ["video/mp4", "mp4"];
  return {
    type,
    mimeType,
    defaultResult: (id, mediaId, fileHash) => ({
      storage_url: `https://storage.rendley.com/ai/${id}.${ext}`,
      media_id: mediaId,
      file_hash: fileHash,
      mime_type: mimeType,
    }),
  };
}
