import { Writable } from "node:stream";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { startRelay, type Relay, type RelayOptions } from "../../src/relay.js";
import { startFakeRendley, type FakeRendley } from "./fake-rendley.js";
import { startReceiver, type Receiver } from "./receiver.js";
import { waitFor } from "./wait-for.js";
import { createTestStore, type DriverName, type TestStore } from "./test-db.js";

export const TEST_API_KEY = "rrk_test_key_0123456789abcdef";
export const TEST_SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;

/** Settings that keep end-to-end tests fast: polls as often as allowed, retries in milliseconds. */
export const FAST_ENV = {
  POLL_MIN_INTERVAL_MS: "1000",
  POLL_MAX_INTERVAL_MS: "1000",
  DELIVERY_RETRY_SCHEDULE: "50ms,50ms,50ms",
  DELIVERY_TIMEOUT_MS: "2000",
  UPSTREAM_TIMEOUT_MS: "2000",
  LEASE_MS: "1000",
  // Tests poll the API in tight loops; the limiter has its own test.
  RELAY_RATE_LIMIT_RPS: "100000",
  RELAY_RATE_LIMIT_BURST: "100000",
} as const;

/** Everything one end-to-end test needs: relay on port 0, fake Rendley, verifying receiver. */
export interface TestWorld {
  relay: Relay;
  rendley: FakeRendley;
  receiver: Receiver;
  store: TestStore;
  /** Every log line the relay printed (for the secret-leak scan and debugging). */
  logs: string[];
  /** Calls the relay API with the test key. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
  /** Registers a watch (callback defaults to the receiver) and returns the created Watch, failing loudly otherwise. */
  watch(body: {
    job_id: string;
    callback_url?: string;
    events?: string[];
    metadata?: unknown;
    [field: string]: unknown;
  }): Promise<any>;
  /** Waits until GET /v1/watches/{id} satisfies `until` and returns that Watch. */
  waitForWatch(id: string, until: (watch: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Stops and starts the relay on the same store (a restart). */
  restart(extraEnv?: Record<string, string>): Promise<Relay>;
  close(): Promise<void>;
}

export function captureLogs(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

/**
 * What every test relay runs with: port 0 on 127.0.0.1, `rendley` as its upstream (its agent host too, when it has
 * one), the test keys, callbacks to 127.0.0.1 allowed, and FAST_ENV's timings. A test adds its database and its
 * own settings.
 */
export function relayTestEnv(
  rendley: Pick<FakeRendley, "url" | "apiKey"> & { agentUrl?: string | undefined },
): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    RENDLEY_API_URL: rendley.url,
    ...(rendley.agentUrl ? { RENDLEY_AGENT_URL: rendley.agentUrl } : {}),
    RENDLEY_API_KEY: rendley.apiKey,
    RELAY_API_KEY: TEST_API_KEY,
    RELAY_SIGNING_SECRET: TEST_SECRET,
    RELAY_CALLBACK_ALLOWLIST: "127.0.0.1",
    ...FAST_ENV,
  };
}

/**
 * Starts a fake Rendley, a receiver and a relay wired to both (callbacks to 127.0.0.1 allowlisted), on
 * PGlite from the migrated template unless `driver` says Postgres.
 */
export async function startWorld(
  options: { env?: Record<string, string>; driver?: DriverName; relay?: RelayOptions } = {},
): Promise<TestWorld> {
  const rendley = await startFakeRendley();
  const receiver = await startReceiver({ secrets: [TEST_SECRET] });
  const store = await createTestStore(options.driver ?? "pglite");
  const { lines: logs, stream } = captureLogs();
  const baseEnv = {
    ...relayTestEnv(rendley),
    RELAY_DATA_DIR: "memory://",
    LOG_LEVEL: "debug",
    ...store.env,
    ...options.env,
  };
  const logger = createLogger({ level: "debug", destination: stream });
  const launch = (env: Record<string, string>) =>
    startRelay(loadConfig(env), { logger, ...(store.loadDataDir ? { loadDataDir: store.loadDataDir } : {}), ...options.relay });

  let relay = await launch(baseEnv);
  const world: TestWorld = {
    get relay() {
      return relay;
    },
    rendley,
    receiver,
    store,
    logs,
    async api(path, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TEST_API_KEY}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      const res = await fetch(`${relay.url}${path}`, {
        ...rest,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body, headers: res.headers };
    },
    async watch(body) {
      const res = await world.api("/v1/watches", { method: "POST", json: { callback_url: receiver.url(), ...body } });
      if (res.status !== 201) throw new Error(`watch registration answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.data;
    },
    async waitForWatch(id, until, timeoutMs = 15_000) {
      let last: unknown;
      try {
        return await waitFor(
          async () => {
            const res = await world.api(`/v1/watches/${id}`);
            last = res.body;
            return res.status === 200 && until(res.body.data) ? res.body.data : undefined;
          },
          { timeoutMs },
        );
      } catch {
        throw new Error(
          `watch ${id} never reached the expected state within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`,
        );
      }
    },
    async restart(extraEnv = {}) {
      await relay.stop();
      relay = await launch({ ...baseEnv, ...extraEnv });
      return relay;
    },
    async close() {
      await relay.stop({ graceMs: 500 });
      await Promise.all([rendley.close(), receiver.close()]);
      await store.drop();
    },
  };
  return world;
}
