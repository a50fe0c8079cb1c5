import { Command, InvalidArgumentError } from "commander";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { createRelayClient, type JobEvent } from "../src/client/index.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/lib/logger.js";
import { startRelay, type Relay } from "../src/relay.js";
import { pgliteTemplate } from "./pglite-template.js";
import { startDemoReceiver, type DemoReceiver, type ReceivedCallback } from "./receiver.js";
import { startRendleySimulator, type JobPlan, type RendleySimulator } from "./rendley-simulator.js";
import { createView, describeCallback, type DemoJob } from "./view.js";

interface DemoOptions {
  duration?: number;
  exitWhenDone?: boolean;
  port: number;
  verbose?: boolean;
  pgliteTemplate?: string;
}

/** The jobs the demo starts: each type and outcome once, and one long render. */
const PLAN: Array<Pick<DemoJob, "label" | "type" | "via" | "expected"> & JobPlan & { project?: string; cancelAfterMs?: number }> =
  [
    {
      label: "promo video",
      type: "export_video",
      via: "POST /v1/export",
      expected: "completed",
      project: "prj_promo",
      durationMs: 3_000,
    },
    {
      label: "broken media",
      type: "export_video",
      via: "POST /v1/export",
      expected: "failed",
      project: "prj_broken_media",
      durationMs: 3_500,
      outcome: "failed",
      error: "media_unreachable",
    },
    {
      label: "feature film",
      type: "export_video",
      via: "POST /v1/export",
      expected: "completed",
      project: "prj_feature",
      durationMs: 9_000,
    },
    { label: "podcast transcript", type: "transcription", via: "POST /v1/watches", expected: "completed", durationMs: 4_000 },
    // Nobody registers this one: the relay's subscription to the project's studio jobs finds it.
    {
      label: "editor export",
      type: "export_video",
      via: "in the editor",
      expected: "completed",
      project: "prj_editor",
      durationMs: 4_000,
    },
    {
      label: "thumbnail",
      type: "generate_image",
      via: "POST /v1/watches",
      expected: "canceled",
      durationMs: 20_000,
      cancelAfterMs: 2_500,
    },
  ];
const EVENTS: JobEvent[] = ["job.processing", "job.completed", "job.failed", "job.canceled"];
const FINAL_WATCH_STATUSES = new Set(["delivered", "failed", "canceled", "expired"]);
/** How often the relay lists each subscription's filter (the smallest interval allowed). */
const LIST_INTERVAL_MS = 2_000;

/**
 * `npm run demo`: a Rendley simulator, the relay on in-memory PGlite and a verifying receiver, all on
 * 127.0.0.1; starts a handful of jobs and shows each job's status and each callback as it arrives.
 * @returns the exit code: 0, or 1 when --exit-when-done finds a callback missing or unverified
 */
async function runDemo(options: DemoOptions): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const out = (text: string) => void process.stdout.write(text);
  const apiKey = `rrk_demo_${randomBytes(16).toString("hex")}`;
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const jobs: DemoJob[] = PLAN.map(({ label, type, via, expected }) => ({
    label,
    type,
    via,
    expected,
    jobStatus: "starting",
    watchStatus: "-",
    callbacks: [],
  }));
  const byJobId = new Map<string, DemoJob>();
  const orphans: ReceivedCallback[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopping: ((reason: string) => void) | undefined;
  const stopped = new Promise<string>((resolve) => (stopping = resolve));

  out(`Starting the Rendley simulator, a receiver and the relay on in-memory PGlite (a few seconds)…\n`);
  let simulator: RendleySimulator | undefined;
  let receiver: DemoReceiver | undefined;
  let relay: Relay | undefined;
  let view = createView({ tty: false, write: () => {} });
  const onSignal = (signal: NodeJS.Signals) => stopping?.(signal);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const sim = (simulator = await startRendleySimulator());
    const hook = (receiver = await startDemoReceiver({
      secret,
      onCallback(callback) {
        const job = byJobId.get(callback.jobId);
        if (job) job.callbacks.push(callback);
        else orphans.push(callback);
        view.event(describeCallback(callback, job?.label ?? "an unknown job"));
        view.render(jobs);
      },
    }));
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (options.verbose) process.stderr.write(chunk);
        done();
      },
    });
    const env = {
      PORT: String(options.port),
      HOST: "127.0.0.1",
      RELAY_DATA_DIR: "memory://",
      RENDLEY_API_URL: simulator.url,
      RENDLEY_API_KEY: simulator.apiKey,
      RELAY_API_KEY: apiKey,
      RELAY_SIGNING_SECRET: secret,
      RELAY_CALLBACK_ALLOWLIST: "127.0.0.1",
      POLL_MIN_INTERVAL_MS: "1000",
      POLL_MAX_INTERVAL_MS: "2000",
      DELIVERY_RETRY_SCHEDULE: "1s,2s,5s,10s",
      RENDLEY_AGENT_URL: simulator.agentUrl,
      // The editor's job is discovered within seconds.
      SUBSCRIPTION_LIST_INTERVAL_MS: String(LIST_INTERVAL_MS),
    };
    const loadDataDir = await pgliteTemplate(options.pgliteTemplate);
    relay = await startRelay(loadConfig(env), {
      loadDataDir,
      logger: createLogger({ level: options.verbose ? "info" : "warn", destination: logs }),
    });
    view = createView({ tty, write: out });
    view.header([
      `rendley-relay demo: everything on 127.0.0.1, nothing leaves this machine`,
      `  relay API      ${relay.url}   (API key ${apiKey})`,
      `  dashboard      ${relay.url}/dashboard   (log in with the API key)`,
      `  API docs       ${relay.url}/docs`,
      `  Rendley        ${simulator.url}   (simulator)`,
      `  receiver       ${receiver.url}   (verifies every signature)`,
      `  Ctrl-C stops everything.`,
    ]);
    view.render(jobs);

    const client = createRelayClient({ baseUrl: relay.url, apiKey });
    const relayPost = async (path: string, body: unknown) => {
      const res = await fetch(`${relay!.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { data?: any; error?: { message: string } };
      if (!res.ok) throw new Error(`${path} answered ${res.status}: ${json.error?.message ?? "?"}`);
      return json;
    };
    const relayGet = async (path: string) => {
      const res = await fetch(`${relay!.url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const json = (await res.json()) as { data?: any; error?: { message: string } };
      if (!res.ok) throw new Error(`${path} answered ${res.status}: ${json.error?.message ?? "?"}`);
      return json.data;
    };
    /** A subscription to the project's editor jobs; resolves once its first listing (the baseline) is taken. */
    const subscribe = async (job: DemoJob, project: string, watchFields: object) => {
      const sub = (
        await relayPost("/v1/subscriptions", { filter: { source_type: "studio", project_id: project }, ...watchFields })
      ).data;
      job.subscriptionId = sub.id as string;
      const every = `listed every ${LIST_INTERVAL_MS / 1000} s`;
      view.event(`POST /v1/subscriptions → ${sub.id}: push for every new studio job of ${project} (${every})`);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const listed = await relayGet(`/v1/subscriptions/${sub.id}`);
        if (listed.baseline_at) return view.event(`${sub.id}: first listing (the baseline) taken, ${listed.last_job_count} jobs`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`no first listing of ${sub.id} within 15 s`);
    };
    const exportBody = (project: string) => ({ project_id: project, settings: { target_resolution: "1080p", codec: "h264" } });

    const showCost = async () => {
      try {
        const cost = await relayPost("/v1/export/cost", exportBody("prj_promo"));
        view.event(`POST /v1/export/cost → Rendley's price for the promo video: ${JSON.stringify(cost.data)}`);
      } catch (err) {
        view.event(`POST /v1/export/cost failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    const startJob = async (job: DemoJob, plan: (typeof PLAN)[number]) => {
      try {
        const watchFields = { callback_url: hook.url, events: EVENTS, metadata: { demo: job.label } };
        if (job.via === "in the editor") {
          await subscribe(job, plan.project!, watchFields);
          // As a user would in the Rendley editor: straight at Rendley, no watch registered by anyone.
          job.jobId = sim.startEditorJob({ projectId: plan.project!, type: job.type, durationMs: plan.durationMs });
          byJobId.set(job.jobId, job);
          job.jobStatus = "queued";
          view.event(`in the Rendley editor (no watch registered) → ${job.label}: job ${job.jobId} of ${plan.project}`);
          return view.render(jobs);
        } else if (job.via === "POST /v1/export") {
          sim.planProject(plan.project!, plan);
          const res = await relayPost("/v1/export", { ...exportBody(plan.project!), ...watchFields });
          job.jobId = res.data.job_id as string;
          job.watchId = res.data.watch.id as string;
        } else {
          job.jobId = sim.addJob({ ...plan, type: job.type });
          job.watchId = (await client.watch({ job_id: job.jobId, ...watchFields })).id;
        }
        byJobId.set(job.jobId, job);
        job.callbacks.push(...orphans.filter((c) => c.jobId === job.jobId));
        job.jobStatus = "queued";
        job.watchStatus = "watching";
        view.event(`${job.via} → ${job.label}: job ${job.jobId}, watch ${job.watchId}`);
        if (plan.cancelAfterMs !== undefined) {
          const jobId = job.jobId;
          const timer = setTimeout(() => {
            timers.delete(timer);
            // As a user would: straight at Rendley. The relay finds out by polling and calls back.
            void fetch(`${sim.url}/v1/jobs/${jobId}`, {
              method: "DELETE",
              headers: { authorization: `Bearer ${sim.apiKey}` },
            }).then(
              (res) => view.event(`DELETE /v1/jobs/${jobId} at Rendley (the ${job.label} is canceled) → ${res.status}`),
              () => {},
            );
          }, plan.cancelAfterMs);
          timers.add(timer);
        }
      } catch (err) {
        job.startError = err instanceof Error ? err.message : String(err);
        view.event(`${job.label}: could not start: ${job.startError}`);
      }
      view.render(jobs);
    };
    await Promise.all([showCost(), ...jobs.map((job, i) => startJob(job, PLAN[i]!))]);

    // The relay is the source of truth for status: read each watch as an app (or the dashboard) would.
    let refreshing = false;
    let announcedDone = false;
    const refresh = async () => {
      if (refreshing) return;
      refreshing = true;
      try {
        for (const job of jobs) {
          if (!job.watchId && job.subscriptionId && job.jobId) {
            const found = await relayGet(`/v1/watches?subscription_id=${job.subscriptionId}`);
            const watch = (found as Array<{ id: string; job_id: string }>).find((w) => w.job_id === job.jobId);
            if (!watch) continue;
            job.watchId = watch.id;
            job.watchStatus = "watching";
            view.event(`${job.subscriptionId} discovered ${job.label}'s job ${job.jobId}: watch ${watch.id}`);
          }
          if (!job.watchId) continue;
          const watch = await client.getWatch(job.watchId);
          const jobStatus = watch.job_status ?? "queued";
          if (jobStatus !== job.jobStatus) view.event(`${job.label}: job ${job.jobStatus} → ${jobStatus}`);
          if (watch.status !== job.watchStatus) view.event(`${job.label}: watch ${job.watchStatus} → ${watch.status}`);
          job.jobStatus = jobStatus;
          job.watchStatus = watch.status;
        }
        view.render(jobs);
        const done = jobs.every(
          (j) =>
            j.startError !== undefined ||
            (FINAL_WATCH_STATUSES.has(j.watchStatus) && j.callbacks.some((c) => c.type === `job.${j.expected}`)),
        );
        if (done && !announcedDone) {
          announcedDone = true;
          const callbacks = jobs.flatMap((j) => j.callbacks);
          const verified = callbacks.filter((c) => c.verified).length;
          view.event(
            `all ${jobs.length} jobs finished: ${callbacks.length} callbacks received, ${verified} with a verified signature`,
          );
          if (options.exitWhenDone) stopping?.("done");
          else view.event(`the relay keeps running: browse ${relay!.url}/dashboard, then Ctrl-C to stop`);
        }
      } catch (err) {
        view.event(`could not read the watches: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        refreshing = false;
      }
    };
    const ticker = setInterval(() => void refresh(), 500);
    timers.add(ticker as unknown as NodeJS.Timeout);
    if (options.duration !== undefined) {
      const timer = setTimeout(() => stopping?.("duration"), options.duration * 1000);
      timers.add(timer);
    }

    const reason = await stopped;
    clearInterval(ticker);
    await refresh().catch(() => {});
    view.close(jobs);
    const unverified = jobs.flatMap((j) => j.callbacks).filter((c) => !c.verified).length;
    const unfinished = jobs
      .filter((j) => !j.callbacks.some((c) => c.type === `job.${j.expected}` && c.verified))
      .map((j) => j.label);
    out(
      `\nStopping (${reason})…  ${jobs.flatMap((j) => j.callbacks).length} callbacks, ${unverified} unverified` +
        (unfinished.length > 0
          ? `; without a verified final callback: ${unfinished.join(", ")}`
          : "; every job's final callback verified") +
        "\n",
    );
    return options.exitWhenDone && (unverified > 0 || unfinished.length > 0) ? 1 : 0;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // A second Ctrl-C while stopping leaves at once.
    process.once("SIGINT", () => process.exit(130));
    await relay?.stop({ graceMs: 1_000 });
    await Promise.all([receiver?.close(), simulator?.close()]);
    if (tty) out("\x1b[?25h");
    out("Stopped.\n");
  }
}

const seconds = (raw: string) => {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError("a positive number of seconds");
  return value;
};
const port = (raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new InvalidArgumentError("a port from 0 to 65535");
  return value;
};

const program = new Command("demo")
  .description(
    "Runs a Rendley simulator, the relay (in-memory PGlite) and a verifying receiver on 127.0.0.1, and starts a few jobs.",
  )
  .option("--duration <s>", "stop after this many seconds", seconds)
  .option("--exit-when-done", "stop once every job's final callback arrived (exit 1 if one is missing or unverified)")
  .option("--port <n>", "the relay's port (0: any free port)", port, 0)
  .option("--verbose", "print the relay's logs to stderr")
  .option("--pglite-template <file>", "start from this migrated PGlite dump (default: built once, cached in node_modules/.cache)")
  .action(async (options: DemoOptions) => {
    process.exitCode = await runDemo(options);
    // Everything is closed; anything still holding the process open would be a leak. Do not hang on it.
    setTimeout(() => {
      process.stderr.write("demo: something kept the process alive after stopping; exiting\n");
      process.exit(process.exitCode ?? 0);
    }, 5_000).unref();
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
