import { Pool } from "undici";
import { sleep } from "./http.js";

/** Registers watches on a relay through its public API (`POST /v1/watches`), as an app would. */
export interface WatchRegistrar {
  /** Registers one watch; retries transient failures (429, 5xx, network) a few times. Resolves false when it gave up. */
  register(jobId: string): Promise<boolean>;
  /** Registers all of them with `concurrency` requests in flight. */
  registerAll(jobIds: readonly string[], concurrency: number): Promise<{ registered: number; failed: number; ms: number }>;
  /** The first few failures, for the result file. */
  readonly errors: string[];
  /** How long each successful registration request took (ms), in completion order. */
  readonly durationsMs: number[];
  close(): Promise<void>;
}

/** A registrar for one relay; every watch calls back `callbackUrl` (default events: the terminal ones). */
export function watchRegistrar(relayUrl: string, apiKey: string, callbackUrl: string): WatchRegistrar {
  const pool = new Pool(relayUrl, { connections: 64, keepAliveTimeout: 30_000 });
  const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
  const errors: string[] = [];
  const durationsMs: number[] = [];

  async function register(jobId: string): Promise<boolean> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      let status = 0;
      let text = "";
      const started = performance.now();
      try {
        const res = await pool.request({
          method: "POST",
          path: "/v1/watches",
          headers,
          body: JSON.stringify({ job_id: jobId, callback_url: callbackUrl }),
        });
        status = res.statusCode;
        text = await res.body.text();
        if (status === 200 || status === 201) {
          durationsMs.push(performance.now() - started);
          return true;
        }
      } catch (err) {
        text = (err as Error).message;
      }
      const transient = status === 0 || status === 429 || status >= 500;
      if (!transient || attempt === 5) {
        if (errors.length < 5) errors.push(`${jobId}: ${status} ${text.slice(0, 200)}`);
        return false;
      }
      await sleep(100 * attempt);
    }
    return false;
  }

  return {
    register,
    async registerAll(jobIds, concurrency) {
      const started = Date.now();
      let next = 0;
      let registered = 0;
      let failed = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, jobIds.length) }, async () => {
          while (next < jobIds.length) {
            const id = jobIds[next++]!;
            if (await register(id)) registered++;
            else failed++;
          }
        }),
      );
      return { registered, failed, ms: Date.now() - started };
    },
    errors,
    durationsMs,
    close: () => pool.close(),
  };
}
