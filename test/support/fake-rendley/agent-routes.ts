import type { Responder } from "./respond.js";
import { parseObject, safeDecode } from "./respond.js";
import { createJob, hex, isFinished, renderJob, shiftQueue, startAnswer, type FakeState, type JobRecord } from "./state.js";
import type { RecordedRequest } from "./types.js";

/**
 * The agent host (mcp.rendley.com) for an authenticated `caller`: `POST /v1/agent`, `GET /v1/jobs/{id}` (and
 * `GET /v1/agent/jobs/{id}`), `POST /v1/agent/jobs/{id}/cancel`. Error codes are upper case, as the agent service's.
 */
export function handleAgent(state: FakeState, caller: string, recorded: RecordedRequest, r: Responder, jobId?: string): void {
  const { method, path } = recorded;
  const notFound = (id: string) => r.error(404, "JOB_NOT_FOUND", `Job ${id} not found or expired.`);
  const mine = (id: string): JobRecord | undefined => {
    const job = state.jobs.get(id);
    return job && job.account === caller && job.host === "agent" && !job.evicted ? job : undefined;
  };

  if (jobId !== undefined && method === "GET") {
    const next = state.scripted.get(jobId)?.shift();
    if (next) return r.send(next);
    const job = mine(jobId);
    if (!job) return notFound(jobId);
    const body = { data: renderJob(state, job) };
    job.cursor = Math.min(job.cursor + 1, job.steps.length - 1);
    return r.json(200, body);
  }

  const cancel = /^\/v1\/agent\/jobs\/([^/]+)\/cancel$/.exec(path);
  if (method === "POST" && cancel) {
    const id = safeDecode(cancel[1]!);
    const job = mine(id);
    if (!job) return notFound(id);
    if (isFinished(job)) return r.error(409, "JOB_FINISHED", `Job ${id} has already finished.`);
    job.steps = [{ status: "cancelled" }];
    job.cursor = 0;
    return r.json(200, { data: renderJob(state, job) });
  }

  if (method === "POST" && path === "/v1/agent") {
    const next = shiftQueue(state, "agent");
    if (next) return r.send(next);
    const input = parseObject(recorded.body);
    if (!input) return r.error(400, "BAD_REQUEST", "The request body must be a JSON object.");
    const problem =
      typeof input.prompt !== "string" || input.prompt.trim() === ""
        ? "prompt is required."
        : input.project_id !== undefined && typeof input.project_id !== "string"
          ? "project_id must be a string."
          : input.thread_id !== undefined && typeof input.thread_id !== "string"
            ? "thread_id must be a string."
            : input.files !== undefined && !Array.isArray(input.files)
              ? "files must be an array."
              : undefined;
    if (problem) return r.error(400, "BAD_REQUEST", problem);
    const threadId = typeof input.thread_id === "string" ? input.thread_id : `thr_${hex(8)}`;
    const id = createJob(state, {
      host: "agent",
      steps: state.agentScript.steps,
      input,
      projectId: typeof input.project_id === "string" ? input.project_id : null,
      apiKey: caller,
      defaultResult: agentResult(threadId),
    });
    return r.json(200, startAnswer(state, id));
  }

  return r.error(404, "NOT_FOUND", `No route for ${method} ${path}.`);
}

/** A finished agent job's default `result_data`. */
export function agentResult(threadId: string) {
  return (): Record<string, unknown> => ({ text: "Done: the project was edited as asked.", thread_id: threadId });
}
