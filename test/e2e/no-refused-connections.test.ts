import { request } from "node:http";
import { freePort } from "../support/http.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeRendley, type FakeRendley } from "../support/fake-rendley.js";
import { relayTestEnv, TEST_API_KEY } from "../support/relay-harness.js";
import { spawnRelay, type RelayProcess } from "../support/relay-process.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { createTestStore, relayDatabaseServer, type TestStore } from "../support/test-db.js";
import { waitFor } from "../support/wait-for.js";

const PG = process.env.TEST_DATABASE_URL;
const UNREADY_MS = 1_500;

interface Outcome {
  path: string;
  startedAt: number;
  endedAt: number;
  /** The HTTP status, or the error code (ECONNREFUSED, ECONNRESET…). */
  result: number | string;
  body: string;
}

/** One request on a connection of its own (no keep-alive to hide a refusal or a reset). */
function probe(port: number, path: string): Promise<Outcome> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path, agent: false, headers: { authorization: `Bearer ${TEST_API_KEY}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ path, startedAt, endedAt: Date.now(), result: res.statusCode ?? 0, body }));
        res.on("error", (err: NodeJS.ErrnoException) =>
          resolve({ path, startedAt, endedAt: Date.now(), result: err.code ?? err.message, body }),
        );
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) =>
      resolve({ path, startedAt, endedAt: Date.now(), result: err.code ?? err.message, body: "" }),
    );
    req.end();
  });
}

if (!PG) console.warn("no-refused-connections: TEST_DATABASE_URL is not set, so this Postgres-only test does not run");

describe.runIf(PG)("a relay process's port, from start to drain (Postgres)", () => {
  let rendley: FakeRendley;
  let store: TestStore;
  let proxy: TcpProxy;
  let proc: RelayProcess | undefined;

  beforeAll(async () => {
    [rendley, store, proxy] = await Promise.all([
      startFakeRendley(),
      createTestStore("postgres"),
      startTcpProxy(relayDatabaseServer()),
    ]);
  });
  afterAll(async () => {
    proc?.child.kill("SIGKILL");
    await proc?.exited;
    await Promise.all([rendley?.close(), proxy?.close()]);
    await store?.drop();
  });

  it("never refuses or resets a connection while the process lives: through its start, a database outage and SIGTERM", async () => {
    const port = await freePort();
    proxy.cut(); // the database is not there at start: the relay waits for it
    proc = spawnRelay({
      ...relayTestEnv(rendley),
      ...store.env,
      DATABASE_URL: proxy.via(store.databaseUrl!),
      PORT: String(port),
      SHUTDOWN_UNREADY_MS: String(UNREADY_MS),
    });
    const outcomes: Outcome[] = [];
    let hammering = true;
    const paths = ["/healthz", "/readyz", "/v1/watches?limit=1"];
    const clients = Array.from({ length: 3 }, async (_, c) => {
      for (let i = c; hammering; i++) outcomes.push(await probe(port, paths[i % paths.length]!));
    });
    const answered = () => outcomes.filter((o) => typeof o.result === "number");

    // Waiting for the database: alive, not ready.
    await waitFor(() => answered().length >= 10, { timeoutMs: 45_000 }); // node + tsx start slowly on a loaded machine
    // Requests racing the very first bind may be refused: count from the first answer's end.
    const firstAnswerAt = Math.min(...answered().map((o) => o.endedAt)) + 1;
    proxy.restore();
    await proc.ready;
    await waitFor(() => outcomes.some((o) => o.path === "/readyz" && o.result === 200 && o.startedAt > firstAnswerAt), {
      timeoutMs: 20_000,
    });
    // A database outage mid-run: /readyz turns 503, the port stays open.
    const cutAt = Date.now();
    proxy.cut();
    await waitFor(() => outcomes.filter((o) => o.path === "/readyz" && o.result === 503 && o.startedAt > cutAt).length >= 3, {
      timeoutMs: 10_000,
    });
    proxy.restore();
    await waitFor(() => outcomes.at(-1)?.path === "/readyz" && outcomes.at(-1)?.result === 200, { timeoutMs: 20_000 });

    const sigtermAt = Date.now();
    proc.child.kill("SIGTERM");
    const exit = await proc.exited;
    hammering = false;
    await Promise.all(clients);
    expect(exit.code).toBe(0);

    // Every request between the first answer and the listener's close got an HTTP answer.
    const closeAt = sigtermAt + UNREADY_MS;
    const lived = outcomes.filter((o) => o.startedAt >= firstAnswerAt && o.startedAt < closeAt - 100);
    const failed = lived.filter((o) => typeof o.result !== "number");
    expect(
      failed.map(
        (o) => `${o.path} ${o.result} at SIGTERM${o.startedAt - sigtermAt >= 0 ? "+" : ""}${o.startedAt - sigtermAt} ms`,
      ),
    ).toEqual([]);
    expect(lived.length).toBeGreaterThan(50);
    expect(new Set(lived.map((o) => o.result))).toEqual(new Set([200, 503]));
    // After SIGTERM, for SHUTDOWN_UNREADY_MS: /readyz says 503 (draining) while the API still answers.
    const unready = lived.filter((o) => o.startedAt > sigtermAt + 50);
    expect(unready.some((o) => o.path === "/readyz" && o.result === 503 && o.body.includes('"draining":true'))).toBe(true);
    expect(unready.some((o) => o.path.startsWith("/v1/watches") && o.result === 200)).toBe(true);
    expect(unready.filter((o) => o.path === "/readyz").every((o) => o.result === 503)).toBe(true);
  }, 120_000);
});
