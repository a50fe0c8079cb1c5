import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Prng } from "./prng.js";

export type FinalStatus = "completed" | "failed" | "canceled";

interface ChaosJob {
  id: string;
  createdAt: number;
  /** When it leaves `queued` and when it finishes (Date.now() ms). */
  startsAt: number;
  endsAt: number;
  final: FinalStatus;
}

export interface FaultRates {
  /** 5xx answers. */
  error5xx: number;
  /** 429 with Retry-After. */
  rateLimited: number;
  /** Bodies that are not the documented job object. */
  malformed: number;
  /** No answer for longer than the relay's upstream timeout. */
  stall: number;
}

export const UPSTREAM_FAULTS: FaultRates = { error5xx: 0.1, rateLimited: 0.05, malformed: 0.02, stall: 0.01 };
export const NO_FAULTS: FaultRates = { error5xx: 0, rateLimited: 0, malformed: 0, stall: 0 };

/** A fake Rendley job API on 127.0.0.1 whose jobs finish on a timer, answering with the run's faults. */
export interface FakeUpstream {
  readonly url: string;
  readonly apiKey: string;
  addJob(id: string, durationMs: number, final: FinalStatus): void;
  job(id: string): ChaosJob | undefined;
  /** Jobs that reached their final status by now. */
  terminalJobs(): ChaosJob[];
  setFaults(rates: FaultRates): void;
  readonly counts: Record<string, number>;
  close(): Promise<void>;
}

export async function startFakeUpstream(random: Prng, stallMs: number): Promise<FakeUpstream> {
  const apiKey = "rk_chaos_0123456789abcdef";
  const jobs = new Map<string, ChaosJob>();
  const counts: Record<string, number> = { requests: 0, ok: 0, error5xx: 0, rateLimited: 0, malformed: 0, stall: 0 };
  let rates = UPSTREAM_FAULTS;

  const statusOf = (job: ChaosJob, now: number) =>
    now >= job.endsAt ? job.final : now >= job.startsAt ? "processing" : "queued";

  const server: Server = createServer((req, res) => {
    counts.requests!++;
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(body);
    };
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(401, JSON.stringify({ error: { code: "unauthorized", message: "bad key" } }));
    }
    const m = /^\/v1\/jobs\/([^/?]+)/.exec(req.url ?? "");
    const job = m ? jobs.get(decodeURIComponent(m[1]!)) : undefined;
    if (!job) return send(404, JSON.stringify({ error: { code: "not_found", message: "No job with that id" } }));
    const roll = random.next();
    let edge = rates.error5xx;
    if (roll < edge) {
      counts.error5xx!++;
      return send(random.pick([500, 502, 503]), JSON.stringify({ error: { code: "internal", message: "chaos" } }));
    }
    if (roll < (edge += rates.rateLimited)) {
      counts.rateLimited!++;
      return send(429, JSON.stringify({ error: { code: "rate_limited", message: "slow down" } }), { "retry-after": "1" });
    }
    if (roll < (edge += rates.malformed)) {
      counts.malformed!++;
      return send(200, random.chance(0.5) ? '{"data": {"id": ' : JSON.stringify({ data: { id: job.id, status: "exploded" } }));
    }
    if (roll < (edge += rates.stall)) {
      counts.stall!++;
      const timer = setTimeout(() => send(500, "{}"), stallMs);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    counts.ok!++;
    const now = Date.now();
    const status = statusOf(job, now);
    send(
      200,
      JSON.stringify({
        data: {
          id: job.id,
          type: "export_video",
          status,
          created_at: new Date(job.createdAt).toISOString(),
          updated_at: new Date(Math.min(now, job.endsAt)).toISOString(),
          result_data: status === "completed" ? JSON.stringify({ storage_url: `https://storage.example/${job.id}.mp4` }) : null,
          error: status === "failed" ? "render failed" : null,
        },
      }),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    addJob(id, durationMs, final) {
      const now = Date.now();
      jobs.set(id, { id, createdAt: now, startsAt: now + durationMs / 4, endsAt: now + durationMs, final });
    },
    job: (id) => jobs.get(id),
    terminalJobs: () => [...jobs.values()].filter((j) => Date.now() >= j.endsAt),
    setFaults(next) {
      rates = next;
    },
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
