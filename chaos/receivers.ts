import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { Prng } from "./prng.js";

export interface ReceiverFaults {
  error500: number;
  /** No answer for longer than the relay's delivery timeout. */
  stall: number;
  /** The connection is reset instead of answered. */
  reset: number;
}

export const RECEIVER_FAULTS: ReceiverFaults = { error500: 0.1, stall: 0.02, reset: 0.01 };
export const NO_RECEIVER_FAULTS: ReceiverFaults = { error500: 0, stall: 0, reset: 0 };

export interface Ack {
  webhookId: string;
  jobId: string;
  event: string;
  at: number;
}

/** Callback receivers on 127.0.0.1 that verify signatures and record every 2xx they answered. */
export interface ReceiverFleet {
  /** Callback URL of receiver i. */
  url(i: number): string;
  readonly size: number;
  readonly acks: Ack[];
  readonly counts: Record<string, number>;
  setFaults(faults: ReceiverFaults): void;
  /** Stops receiver i listening (connections refused) until `up(i)`. */
  down(i: number): Promise<void>;
  up(i: number): Promise<void>;
  isDown(i: number): boolean;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

export async function startReceivers(count: number, secret: string, random: Prng, stallMs: number): Promise<ReceiverFleet> {
  const verifier = new Webhook(secret);
  const acks: Ack[] = [];
  const counts: Record<string, number> = { requests: 0, ok: 0, error500: 0, stall: 0, reset: 0, unverified: 0 };
  let faults = RECEIVER_FAULTS;
  const servers: Server[] = [];
  const ports: number[] = [];
  const downed = new Set<number>();

  const handler = async (req: IncomingMessage, res: import("node:http").ServerResponse) => {
    counts.requests!++;
    const body = await readBody(req).catch(() => "");
    const roll = random.next();
    if (roll < faults.reset) {
      counts.reset!++;
      req.socket.resetAndDestroy();
      return;
    }
    if (roll < faults.reset + faults.stall) {
      counts.stall!++;
      const timer = setTimeout(() => res.writeHead(500).end(), stallMs);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    if (roll < faults.reset + faults.stall + faults.error500) {
      counts.error500!++;
      res.writeHead(500).end("chaos");
      return;
    }
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    try {
      verifier.verify(body, headers);
    } catch {
      counts.unverified!++;
      res.writeHead(400).end("bad signature");
      return;
    }
    const parsed = JSON.parse(body) as { type: string; data: { job_id: string } };
    res.writeHead(200).end("ok", () => {
      counts.ok!++;
      acks.push({ webhookId: headers["webhook-id"], jobId: parsed.data.job_id, event: parsed.type, at: Date.now() });
    });
  };

  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
    });
  for (let i = 0; i < count; i++) {
    const server = createServer((req, res) => void handler(req, res));
    servers.push(server);
    ports.push(await listen(server, 0));
  }
  const stop = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: (i) => `http://127.0.0.1:${ports[i]}/hook`,
    size: count,
    acks,
    counts,
    setFaults(next) {
      faults = next;
    },
    async down(i) {
      downed.add(i);
      await stop(servers[i]!);
    },
    async up(i) {
      if (!downed.has(i)) return;
      const server = createServer((req, res) => void handler(req, res));
      servers[i] = server;
      await listen(server, ports[i]!);
      downed.delete(i);
    },
    isDown: (i) => downed.has(i),
    async close() {
      await Promise.all(servers.map((s, i) => (downed.has(i) ? undefined : stop(s))));
    },
  };
}
