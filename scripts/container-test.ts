/**
 * The container image, tested for real (.ci/run runs it; needs root: podman runs rootful here):
 *
 *   node --import tsx scripts/container-test.ts
 *
 * Builds the Dockerfile with podman against the local stand-in for node:24-bookworm-slim that
 * ../shared/tools/node-base-image.sh makes (and installs podman with), then runs it on 127.0.0.1 only (host
 * network, HOST=127.0.0.1) with the environment deploy/kubernetes/deployment.yaml sets (test values for its
 * secrets), against a fake Rendley and a Standard Webhooks receiver on the host:
 *   1. embedded PGlite on a /data volume: /readyz, the image's HEALTHCHECK, tini as PID 1 and node as a non-root
 *      uid, a callback verified with standardwebhooks, SIGTERM → exit 0 within 10 s; a new container on the same
 *      volume still has the watches and keeps polling them; SIGTERM again;
 *   2. Postgres (its own database, dropped after): two containers with read-only root filesystems on one
 *      database call each watch back exactly once; both stop on SIGTERM with exit 0 within 10 s.
 * Containers, the volume, the database and temporary files are removed whatever happens; a failure prints the
 * containers' last log lines. Prints the image's size and the timings.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeRendley, type FakeRendley } from "../test/support/fake-rendley.js";
import { startReceiver, type Receiver } from "../test/support/receiver.js";
import { deploymentEnv, deploymentMemoryLimit, type ManifestEnvVar } from "./container/manifest-env.js";
import { imageInfo, layersAbove, podman, processTree, run, runContainer, type Container } from "./container/podman.js";
import { runPostgresPhase } from "./container/postgres-phase.js";
import { callbackFor, check, freePort, http, mb, ready, register, step, timings, type Relay } from "./container/support.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BASE_IMAGE_SCRIPT = resolve(ROOT, "..", "shared", "tools", "node-base-image.sh");
const NODE_MAJOR = "24";
const BASE = `localhost/node:${NODE_MAJOR}-bookworm-slim`;
const IMAGE = "localhost/rendley-relay:container-test";
const STOP_LIMIT_MS = 10_000;
const NAME = `rr-ct-${process.pid}`;
/** The embedded database's first start (initdb) peaks at about 1.3 GB on Node 24 (README: Deploying). */
const PGLITE_MEMORY = "1536m";

let failing = false;
const cleanups: (() => Promise<unknown> | void)[] = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      console.error(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** The Deployment's variables (its plain values, test values for its secrets), then loopback and the fakes. */
function relayEnv(manifest: ManifestEnvVar[], values: Record<string, string>, extra: Record<string, string>) {
  const env: Record<string, string> = {};
  for (const v of manifest) {
    if ("value" in v) env[v.name] = v.value;
    else if (values[v.name] !== undefined) env[v.name] = values[v.name]!;
    else if (v.name !== "DATABASE_URL") throw new Error(`deployment.yaml takes ${v.name} from a Secret: the test has no value`);
  }
  return { ...env, ...extra };
}

async function loopbackEnv(fake: FakeRendley): Promise<Record<string, string>> {
  return {
    PORT: String(await freePort()),
    HOST: "127.0.0.1",
    RENDLEY_API_URL: fake.url,
    RENDLEY_AGENT_URL: fake.agentUrl,
    RELAY_CALLBACK_ALLOWLIST: "127.0.0.1",
  };
}

let started = 0;
async function startRelay(
  dir: string,
  env: Record<string, string>,
  options: { volume?: string; readOnly?: boolean; memory: string },
) {
  const envFile = join(dir, `relay-${++started}.env`);
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
    { mode: 0o600 },
  );
  const container = await runContainer({ name: `${NAME}-${started}`, image: IMAGE, envFile, ...options });
  cleanups.push(async () => {
    const logs = failing ? await container.logs(30) : "(removed)";
    if (logs !== "(removed)") console.error(`\n--- last lines of ${container.name}:\n${logs}`);
    await container.remove();
  });
  return { url: `http://127.0.0.1:${env.PORT}`, apiKey: env.RELAY_API_KEY!, container } satisfies Relay;
}

async function stopWithin(container: Container, what: string): Promise<void> {
  const exit = await container.signal("TERM", STOP_LIMIT_MS + 5_000);
  check(exit.code === 0 && exit.ms <= STOP_LIMIT_MS, `${what}: SIGTERM → exit ${exit.code} after ${exit.ms} ms (0 within 10 s)`);
}

/** Tini as PID 1, node dist/main.js as its child, neither root (the host's /proc). */
async function checkProcess(container: Container): Promise<void> {
  const { pid1, child } = processTree(await container.pid());
  check(/\btini\b/.test(pid1.cmdline) && child?.cmdline === "node dist/main.js", `tini runs node dist/main.js (${pid1.cmdline})`);
  check(pid1.uid !== 0 && child.uid !== 0, `as a non-root uid (${pid1.uid}, ${child.uid}); node's RSS ${mb(child.rssBytes)}`);
}

async function buildImage(): Promise<void> {
  if (!existsSync(BASE_IMAGE_SCRIPT)) throw new Error(`${BASE_IMAGE_SCRIPT} is missing (shared/ beside the repository)`);
  await step("base image (installs podman when missing)", async () => {
    const { stdout } = await run("bash", [BASE_IMAGE_SCRIPT, NODE_MAJOR], { timeoutMs: 20 * 60_000 });
    console.log(`   ${stdout.trim().split("\n").at(-2) ?? ""}`);
  });
  const before = await imageInfo(IMAGE);
  const args = ["build", "--isolation=chroot", "--network=host", "--format", "docker", "--build-arg", `NODE_IMAGE=${BASE}`];
  await step("image build", () => podman([...args, "-t", IMAGE, ROOT], { timeoutMs: 20 * 60_000 }));
  const [image, base] = await Promise.all([imageInfo(IMAGE), imageInfo(BASE)]);
  if (!image || !base) throw new Error("the image or its base is missing after the build");
  // The previous build of this tag only takes space now (the stages' cache images stay).
  if (before && before.id !== image.id) await podman(["rmi", before.id], { allowFail: true });
  console.log(`image ${IMAGE}: ${mb(image.size)}; base ${mb(base.size)}; layers above the base ${mb(image.size - base.size)}:`);
  for (const layer of await layersAbove(IMAGE, BASE)) {
    if (layer.size > 0) console.log(`   ${mb(layer.size).padStart(9)}  ${layer.createdBy.replace(/\s+/g, " ").slice(0, 100)}`);
  }
  check(image.size - base.size < 100e6, "the layers above the base weigh under 100 MB");
}

async function pgliteOnVolume(dir: string, env: Record<string, string>, fake: FakeRendley, receiver: Receiver): Promise<void> {
  const volume = `${NAME}-data`;
  await podman(["volume", "create", volume]);
  cleanups.push(() => podman(["volume", "rm", "-f", volume], { allowFail: true }));

  const first = await startRelay(dir, env, { volume, memory: PGLITE_MEMORY });
  await step("PGlite: container start → /readyz 200 (new data dir)", () => ready(first));
  const health = await podman(["healthcheck", "run", first.container.name], { allowFail: true });
  check(health.code === 0, `the image's HEALTHCHECK (node's fetch, no curl) passes (podman healthcheck run: ${health.code})`);
  await checkProcess(first.container);
  const done = fake.addJob({ steps: ["processing", "completed"] });
  const running = fake.addJob({ steps: ["processing"] });
  const doneWatch = await register(first, done, receiver.url());
  const runningWatch = await register(first, running, receiver.url());
  const cb = await step("PGlite: register → job.completed callback", () => callbackFor(receiver, done, "job.completed"));
  check(cb.verified && cb.body.data.watch_id === doneWatch, `it verifies with standardwebhooks (${cb.webhookId})`);
  await stopWithin(first.container, "PGlite container");
  await first.container.remove();

  const second = await startRelay(dir, env, { volume, memory: PGLITE_MEMORY });
  await step("PGlite: new container on the same volume → /readyz 200", () => ready(second));
  const kept = await http(second, "GET", `/v1/watches/${doneWatch}`);
  check(
    kept.body?.data?.status === "delivered",
    `the delivered watch is still there (${kept.status} ${kept.body?.data?.status})`,
  );
  const other = await http(second, "GET", `/v1/watches/${runningWatch}`);
  check(other.body?.data?.status === "watching", `so is the one still watching (${other.status} ${other.body?.data?.status})`);
  fake.setJob(running, "completed");
  const later = await step("PGlite: the job completes after the restart → callback", () =>
    callbackFor(receiver, running, "job.completed"),
  );
  check(later.verified && later.body.data.watch_id === runningWatch, "it verifies and names the watch registered before");
  check(receiver.byWebhookId(cb.webhookId!).length === 1, "the callback acknowledged before the restart was not sent again");
  await stopWithin(second.container, "PGlite container after the restart");
}

async function main(): Promise<void> {
  const t0 = performance.now();
  if (process.getuid?.() !== 0) throw new Error("run as root: podman runs rootful here (../shared/tools/node-base-image.sh)");
  const dir = mkdtempSync(join(tmpdir(), "relay-container-test-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const deployment = join(ROOT, "deploy/kubernetes/deployment.yaml");
  const manifest = deploymentEnv(deployment);
  const memoryLimit = deploymentMemoryLimit(deployment);
  console.log(`deploy/kubernetes/deployment.yaml sets ${manifest.map((v) => v.name).join(", ")}`);
  await buildImage();

  const fake = await startFakeRendley();
  cleanups.push(() => fake.close());
  const secrets: Record<string, string> = {
    RENDLEY_API_KEY: fake.apiKey,
    RELAY_API_KEY: `rk_relay_${hex(16)}`,
    RELAY_SIGNING_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
    RELAY_ADMIN_KEY: hex(24),
    RELAY_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    RELAY_METRICS_TOKEN: hex(24),
  };
  const receiver = await startReceiver({ secrets: [secrets.RELAY_SIGNING_SECRET!] });
  cleanups.push(() => receiver.close());

  // The embedded default: everything the Deployment sets but DATABASE_URL.
  const pgliteEnv = relayEnv(manifest, secrets, await loopbackEnv(fake));
  await step("phase 1, PGlite on a volume", () => pgliteOnVolume(dir, pgliteEnv, fake, receiver));
  const server = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  await step("phase 2, two containers on Postgres", () =>
    runPostgresPhase({
      server,
      fake,
      receiver,
      metricsToken: secrets.RELAY_METRICS_TOKEN,
      defer: (fn) => void cleanups.push(fn),
      start: async (_i, databaseUrl) =>
        startRelay(dir, relayEnv(manifest, { ...secrets, DATABASE_URL: databaseUrl }, await loopbackEnv(fake)), {
          readOnly: true,
          // The Deployment's limit: Node sizes its heap to it.
          memory: String(memoryLimit),
        }),
      checkProcess,
      stopWithin,
    }),
  );
  timings.push(["total", performance.now() - t0]);
}

try {
  await main();
} catch (err) {
  failing = true;
  console.error(`\nFAILED: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await cleanUp();
  console.log("\ntimings:");
  for (const [label, ms] of timings) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${label}`);
}
process.exit(failing ? 1 : 0);
