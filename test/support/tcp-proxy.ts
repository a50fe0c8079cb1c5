import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of a server (Postgres): `cut()` drops every open connection and resets new
 * ones until `restore()`. It stands in for a database outage without touching the shared Postgres.
 */
export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  cut(): void;
  restore(): void;
  /**
   * Resets the next `times` connections whose client sends bytes matching `pattern` (a query text), at that
   * moment: a backend that dies in the middle of one statement, as `pg_terminate_backend` would do it.
   */
  resetWhen(pattern: RegExp, times?: number): void;
  /** Connections reset by `resetWhen` so far. */
  readonly resets: number;
  readonly isCut: boolean;
  /** Connections accepted while not cut (a reconnect count). */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, options: { port?: number } = {}): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  let connections = 0;
  let trigger: { pattern: RegExp; left: number } | undefined;
  let resets = 0;
  const server: Server = createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    connections++;
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (chunk: Buffer) => {
      if (trigger && trigger.left > 0 && trigger.pattern.test(chunk.toString("latin1"))) {
        trigger.left--;
        resets++;
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const dropAll = () => {
    for (const s of open) s.resetAndDestroy();
    open.clear();
  };
  return {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    cut() {
      cut = true;
      dropAll();
    },
    restore() {
      cut = false;
    },
    resetWhen(pattern, times = 1) {
      trigger = { pattern, left: times };
    },
    get resets() {
      return resets;
    },
    get isCut() {
      return cut;
    },
    get connections() {
      return connections;
    },
    async close() {
      cut = true;
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
