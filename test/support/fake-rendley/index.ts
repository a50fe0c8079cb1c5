import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { flattenHeaders } from "../http.js";
import { agentResult, handleAgent } from "./agent-routes.js";
import { handleApi } from "./api-routes.js";
import { bearerOf, responder, safeDecode, type Responder } from "./respond.js";
import { createJob, createState, hex, isFinished, pushQueue, renderJob, toStep, type FakeState } from "./state.js";
import type { FakeHost, FakeRendley, RecordedRequest } from "./types.js";

export * from "./types.js";

/**
 * Starts a fake Rendley on 127.0.0.1 (random ports): the job API of the "Jobs and polling" reference page and
 * the wider surface Rendley's API reference and own clients show (the job list, the AI tools, the agent service
 * on a second port, `cancelled`, error objects, presigned `output`).
 */
export async function startFakeRendley(options: { apiKey?: string } = {}): Promise<FakeRendley> {
  const state = createState(options.apiKey ?? `rk_test_${hex(12)}`);
  const api = await listen(state, "api");
  const agent = await listen(state, "agent").catch(async (err: unknown) => {
    await stop(api.server);
    throw err;
  });
  state.url = api.url;

  const existing = (id: string, what: string) => {
    const job = state.jobs.get(id);
    if (!job) throw new Error(`${what}: unknown job ${id}`);
    return job;
  };
  const calls = (method: string, path: string, host?: FakeHost) =>
    state.requests.filter((r) => r.method === method && r.path === path && (host === undefined || r.host === host));

  return {
    url: api.url,
    agentUrl: agent.url,
    apiKey: state.apiKey,
    addJob: (o) => createJob(state, o),
    addEditorJob: (o) => createJob(state, { ...o, sourceType: "studio" }),
    addAgentJob: (o) =>
      createJob(state, { ...o, host: "agent", projectId: o.projectId ?? null, defaultResult: agentResult(`thr_${hex(8)}`) }),
    setJob(id, step) {
      const job = existing(id, "setJob");
      job.steps = [toStep(step)];
      job.cursor = 0;
    },
    enqueue(id, ...responses) {
      state.scripted.set(id, [...(state.scripted.get(id) ?? []), ...responses]);
    },
    enqueueExport: (...responses) => pushQueue(state, "/v1/export", responses),
    enqueueCost: (...responses) => pushQueue(state, "/v1/export/cost", responses),
    enqueueList: (...responses) => pushQueue(state, "list", responses),
    enqueueAi: (...responses) => pushQueue(state, "ai", responses),
    enqueueAiCost: (...responses) => pushQueue(state, "ai-cost", responses),
    enqueueAgent: (...responses) => pushQueue(state, "agent", responses),
    setExportScript(script) {
      state.exportScript = { ...script, steps: [...script.steps] };
    },
    setAiScript(action, script) {
      state.aiScripts.set(action, { ...script, steps: [...script.steps] });
    },
    setAgentScript(script) {
      state.agentScript = { steps: [...script.steps] };
    },
    setJobIdShape(shape) {
      state.jobIdShape = shape;
    },
    setAiCostShape(shape) {
      state.aiCostShape = shape;
    },
    evictAgentJob(id) {
      const job = existing(id, "evictAgentJob");
      if (job.host !== "agent") throw new Error(`evictAgentJob: ${id} is not an agent job`);
      if (!isFinished(job)) throw new Error(`evictAgentJob: ${id} has not finished`);
      job.evicted = true;
    },
    calls,
    listCalls: () => calls("GET", "/v1/jobs", "api"),
    get requests() {
      return state.requests;
    },
    polls: (id) => state.pollLog.get(id)?.length ?? 0,
    pollTimes: (id) => [...(state.pollLog.get(id) ?? [])],
    job(id) {
      const job = state.jobs.get(id);
      return job && !job.evicted ? renderJob(state, job) : undefined;
    },
    addAccount() {
      const key = `rk_test_${hex(12)}`;
      state.accounts.add(key);
      return key;
    },
    setOverride(response) {
      state.override = response;
    },
    async close() {
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
      await Promise.all([stop(api.server), stop(agent.server)]);
    },
  };
}

/** What both hosts do before their own routes: log polls, the override, presigned media (api), the key. */
function dispatch(state: FakeState, host: FakeHost, req: IncomingMessage, recorded: RecordedRequest, r: Responder): void {
  const { method, path } = recorded;
  const jobMatch = /^\/v1\/jobs\/([^/]+)$/.exec(path) ?? (host === "agent" ? /^\/v1\/agent\/jobs\/([^/]+)$/.exec(path) : null);
  const jobId = jobMatch ? safeDecode(jobMatch[1]!) : undefined;
  if (method === "GET" && jobId !== undefined) {
    const times = state.pollLog.get(jobId) ?? [];
    times.push(recorded.at);
    state.pollLog.set(jobId, times);
  }
  if (state.override) return r.send(state.override);

  const media = host === "api" && method === "GET" ? /^\/media\/([^/]+)$/.exec(path) : null;
  if (media) {
    const link = state.issued.get(recorded.query.sig ?? "");
    if (!link || link.mediaId !== safeDecode(media[1]!) || link.expiresAt <= Date.now()) {
      return r.error(403, "forbidden", "The link is invalid or has expired.");
    }
    return r.send({ status: 200, headers: { "content-type": "application/octet-stream" }, body: `fake media ${link.mediaId}` });
  }

  const caller = bearerOf(req.headers.authorization);
  if (caller === undefined || !state.accounts.has(caller)) {
    const code = host === "agent" ? "UNAUTHORIZED" : "unauthorized";
    return r.error(401, code, "The API key is missing, malformed, or invalid.");
  }
  if (host === "agent") return handleAgent(state, caller, recorded, r, jobId);
  return handleApi(state, caller, recorded, r, jobId);
}

async function listen(state: FakeState, host: FakeHost): Promise<{ server: Server; url: string }> {
  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: RecordedRequest = {
        host,
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: flattenHeaders(req),
        body: Buffer.concat(chunks).toString("utf8"),
        at,
      };
      state.requests.push(recorded);
      const r = responder(state.timers, res);
      try {
        dispatch(state, host, req, recorded, r);
      } catch (err) {
        r.error(500, "internal_error", err instanceof Error ? err.message : String(err));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
