import postgres from "postgres";
import type { FakeRendley } from "../../test/support/fake-rendley.js";
import type { Receiver } from "../../test/support/receiver.js";
import { waitFor } from "../../test/support/wait-for.js";
import type { Container } from "./podman.js";
import { check, http, ready, register, step, type Relay } from "./support.js";

/** The container test's own database on the machine's Postgres (dropped before and after). */
export const DATABASE = "relay_container_test";
/** Watches registered across the two containers. */
const JOBS = 20;

export interface PostgresPhase {
  /** postgres://… of the server (its `test` database is left alone). */
  server: string;
  fake: FakeRendley;
  receiver: Receiver;
  /** Registers a cleanup, run in reverse order whatever happens. */
  defer(fn: () => Promise<void> | void): void;
  /** Starts relay container 1 or 2 on `databaseUrl`. */
  start(i: 1 | 2, databaseUrl: string): Promise<Relay>;
  checkProcess(container: Container): Promise<void>;
  stopWithin(container: Container, what: string): Promise<void>;
}

async function onServer(server: string, statement: string): Promise<void> {
  const sql = postgres(server, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Acknowledged `job.completed` deliveries per relay, from its /metrics (the metrics token set by the manifest). */
async function acknowledged(relay: Relay, metricsToken: string | undefined): Promise<number> {
  const res = await http(relay, "GET", "/metrics", undefined, metricsToken);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const line = /^rendley_relay_delivery_attempts_total\{outcome="acknowledged"\} (\d+)/m.exec(res.text);
  return Number(line?.[1] ?? 0);
}

/**
 * Two containers, read-only root filesystems as in the Kubernetes manifest, on one Postgres database: each of
 * JOBS watches, registered alternately on either, is called back exactly once, verified; then both stop on SIGTERM.
 */
export async function runPostgresPhase(p: PostgresPhase & { metricsToken?: string }): Promise<void> {
  const url = new URL(p.server);
  url.pathname = `/${DATABASE}`;
  await onServer(p.server, `drop database if exists ${DATABASE} with (force)`);
  await onServer(p.server, `create database ${DATABASE}`);
  p.defer(() => onServer(p.server, `drop database if exists ${DATABASE} with (force)`));

  const relays = await Promise.all([p.start(1, url.toString()), p.start(2, url.toString())]);
  await step("Postgres: two containers → both /readyz 200", () => Promise.all(relays.map((r) => ready(r))));
  for (const relay of relays) await p.checkProcess(relay.container);

  const jobs = Array.from({ length: JOBS }, () => p.fake.addJob({ steps: ["processing", "completed"] }));
  const before = p.receiver.received.length;
  await Promise.all(jobs.map((job, i) => register(relays[i % 2]!, job, p.receiver.url("/pg"))));
  await step(`Postgres: ${JOBS} watches → ${JOBS} job.completed callbacks`, () =>
    waitFor(() => new Set(p.receiver.received.slice(before).map((c) => c.body?.data?.job_id)).size >= JOBS, {
      timeoutMs: 90_000,
      message: `${JOBS} callbacks`,
    }),
  );
  // Long enough for a second delivery of any of them to arrive, were the claims not exclusive.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const callbacks = p.receiver.received.slice(before);
  const perJob = new Map<string, number>();
  for (const c of callbacks) perJob.set(c.body?.data?.job_id, (perJob.get(c.body?.data?.job_id) ?? 0) + 1);
  check(
    callbacks.length === JOBS && jobs.every((job) => perJob.get(job) === 1),
    `${JOBS} watches over two containers: ${callbacks.length} callbacks, each job called back exactly once`,
  );
  check(
    callbacks.every((c) => c.verified && c.body?.type === "job.completed" && c.status === 200),
    "every one verified and acknowledged",
  );
  const split = await Promise.all(relays.map((r) => acknowledged(r, p.metricsToken)));
  console.log(`   acknowledged deliveries per container (their /metrics): ${split.join(" + ")}`);
  await Promise.all(relays.map((r, i) => p.stopWithin(r.container, `Postgres container ${i + 1}`)));
}
