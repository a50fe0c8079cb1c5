import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "./http.js";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import postgres from "postgres";
import { waitFor } from "./wait-for.js";

/**
 * Debian's `pgbouncer` in transaction pooling mode on 127.0.0.1, in front of a Postgres server: what hosted Postgres
 * usually puts between an app and its database. Used by test/e2e/pgbouncer.test.ts and, through
 * scripts/with-pgbouncer.ts, by `.ci/run`'s PgBouncer run.
 */
export interface PgBouncer {
  /** `postgres://user@127.0.0.1:<port>/<database>`: any database of the server (a wildcard entry). */
  url(database: string): string;
  readonly port: number;
  /** `1.18.0` */
  readonly version: string;
  /**
   * Whether clients may keep postgres.js's named prepared statements: PgBouncer 1.21 and later track them in
   * transaction mode when `max_prepared_statements` is above 0 (set here); 1.18, Debian bookworm's, does not.
   */
  readonly preparedStatements: boolean;
  /** Everything it printed (connections, errors), for a failing test's message. */
  readonly log: string[];
  stop(): Promise<void>;
}

/** The pgbouncer executable (on PATH, or in /usr/sbin where Debian puts it), or undefined when it is not installed. */
export function findPgBouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"].filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, "pgbouncer"), constants.X_OK);
      return join(dir, "pgbouncer");
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `PgBouncer 1.18.0` → `1.18.0`. */
export function pgBouncerVersion(binary: string): string {
  const out = execFileSync(binary, ["--version"], { encoding: "utf8" });
  const version = /PgBouncer (\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1];
  if (!version) throw new Error(`cannot read pgbouncer's version from: ${out.split("\n")[0]}`);
  return version;
}

/** Named prepared statements in transaction mode need PgBouncer 1.21 or later. */
export function tracksPreparedStatements(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 1 || (major === 1 && minor >= 21);
}

/**
 * Starts pgbouncer in front of `serverUrl`'s server (its user must log in there without a password, or with the
 * URL's), with its own config and auth file in a temporary directory, and waits until a query goes through.
 */
export async function startPgBouncer(serverUrl: string, options: { binary?: string } = {}): Promise<PgBouncer> {
  const binary = options.binary ?? findPgBouncer();
  if (!binary) throw new Error("pgbouncer is not installed (apt-get install pgbouncer)");
  const version = pgBouncerVersion(binary);
  const preparedStatements = tracksPreparedStatements(version);
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || "postgres";
  const password = decodeURIComponent(server.password);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "relay-pgbouncer-"));
  // pgbouncer refuses to run as root: it then runs as `nobody`, which must read these files.
  chmodSync(dir, 0o755);
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o644 });
    return join(dir, name);
  };
  const authFile = file("userlist.txt", `"${user}" "${password}"\n`);
  const ini = file(
    "pgbouncer.ini",
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${authFile}`,
      "pool_mode = transaction",
      "max_client_conn = 1000",
      // Few server connections per database, closed when idle: tests make many databases on a server of 100.
      "default_pool_size = 8",
      "server_idle_timeout = 10",
      "log_connections = 0",
      "log_disconnections = 0",
      ...(preparedStatements ? ["max_prepared_statements = 200"] : []),
      "",
    ].join("\n"),
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(binary, [...(asRoot ? ["-u", "nobody"] : []), ini], { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    stream?.on("data", (d: Buffer) => log.push(...d.toString().split("\n").filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A test process that ends without stop() leaves no pgbouncer behind.
  const orphanGuard = () => child.kill("SIGTERM");
  process.once("exit", orphanGuard);
  const url = (database: string) => {
    const u = new URL(serverUrl);
    u.host = `127.0.0.1:${port}`;
    u.pathname = `/${database}`;
    return u.toString();
  };
  const stop = async () => {
    process.off("exit", orphanGuard);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const died = exited.then(() => {
      throw new Error(`pgbouncer ${version} exited at start: ${log.slice(-5).join(" | ")}`);
    });
    const answers = waitFor(
      async () => {
        const sql = postgres(url(server.pathname.slice(1) || user), {
          max: 1,
          prepare: false,
          connect_timeout: 2,
          onnotice: () => {},
        });
        try {
          return (await sql`select 1 as ok`)[0]?.ok === 1;
        } finally {
          await sql.end({ timeout: 1 });
        }
      },
      { timeoutMs: 15_000, intervalMs: 100, message: "pgbouncer answers" },
    );
    died.catch(() => {}); // once it answers, a later exit is stop()'s
    await Promise.race([answers, died]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, version, preparedStatements, log, stop };
}
