import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";

/** Where the benchmark databases live: BENCH_DATABASE_URL (a Postgres admin URL, or `pglite`). */
export type DatabaseTarget = { kind: "postgres"; adminUrl: string } | { kind: "pglite" };

export const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test";

/** Reads BENCH_DATABASE_URL; a Postgres URL must point at this machine (the benchmark never leaves 127.0.0.1). */
export function databaseTarget(env: Record<string, string | undefined> = process.env): DatabaseTarget {
  const raw = env.BENCH_DATABASE_URL?.trim() || DEFAULT_ADMIN_URL;
  if (raw === "pglite") return { kind: "pglite" };
  const url = new URL(raw);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new Error(`BENCH_DATABASE_URL must be on 127.0.0.1 (got ${url.hostname})`);
  }
  return { kind: "postgres", adminUrl: raw };
}

/** One scenario's database: a fresh Postgres database or a fresh PGlite directory, gone after `drop()`. */
export interface BenchDb {
  readonly kind: "postgres" | "pglite";
  readonly name: string;
  /** What the relay gets: DATABASE_URL, or RELAY_DATA_DIR for PGlite. */
  readonly relayEnv: Record<string, string>;
  /** Postgres URL of the database (undefined on PGlite). */
  readonly url: string | undefined;
  /** PGlite directory (undefined on Postgres). */
  readonly dataDir: string | undefined;
  /** The orchestrator's own connection for statistics (undefined on PGlite: one process per directory). */
  readonly sql: postgres.Sql | undefined;
  drop(): Promise<void>;
}

function adminClient(adminUrl: string): postgres.Sql {
  return postgres(adminUrl, { max: 1, onnotice: () => {} });
}

/** Creates `relay_bench_<scenario>_<pid>` (dropping a leftover of the same name) or a PGlite temp dir. */
export async function createBenchDb(target: DatabaseTarget, scenario: string): Promise<BenchDb> {
  const name = `relay_bench_${scenario}_${process.pid}`;
  if (target.kind === "pglite") {
    const dataDir = mkdtempSync(join(tmpdir(), `${name}_`));
    return {
      kind: "pglite",
      name,
      relayEnv: { RELAY_DATA_DIR: dataDir },
      url: undefined,
      dataDir,
      sql: undefined,
      async drop() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const admin = adminClient(target.adminUrl);
  try {
    await admin`drop database if exists ${admin(name)} with (force)`;
    await admin`create database ${admin(name)}`;
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(target.adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.href, { max: 2, onnotice: () => {} });
  let dropped = false;
  return {
    kind: "postgres",
    name,
    relayEnv: { DATABASE_URL: url.href },
    url: url.href,
    dataDir: undefined,
    sql,
    async drop() {
      if (dropped) return;
      dropped = true;
      await sql.end({ timeout: 5 });
      const a = adminClient(target.adminUrl);
      try {
        await a`drop database if exists ${a(name)} with (force)`;
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

/** Drops `relay_bench_*_<pid>` databases whose orchestrator is gone (a run killed with SIGKILL). */
export async function sweepStaleDatabases(target: DatabaseTarget): Promise<string[]> {
  if (target.kind !== "postgres") return [];
  const admin = adminClient(target.adminUrl);
  const dropped: string[] = [];
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'relay\\_bench\\_%'`;
    for (const { datname } of rows) {
      const pid = Number(/_(\d+)$/.exec(datname)?.[1]);
      if (!pid || pid === process.pid || isAlive(pid)) continue;
      await admin`drop database if exists ${admin(datname)} with (force)`;
      dropped.push(datname);
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  return dropped;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Commits of this database and the cluster's WAL position: read before and after a window. */
export interface PgCounters {
  commits: number;
  lsn: string;
}

export async function pgCounters(sql: postgres.Sql): Promise<PgCounters> {
  const [row] = await sql<{ commits: string; lsn: string }[]>`
    select (select sum(xact_commit) from pg_stat_database where datname = current_database())::text as commits,
           pg_current_wal_lsn()::text as lsn`;
  return { commits: Number(row!.commits), lsn: row!.lsn };
}

/** Commits and WAL bytes between two readings. WAL is cluster-wide: other databases' writes count too. */
export async function pgDelta(sql: postgres.Sql, a: PgCounters, b: PgCounters): Promise<{ commits: number; walBytes: number }> {
  const [row] = await sql<{ bytes: string }[]>`select pg_wal_lsn_diff(${b.lsn}::pg_lsn, ${a.lsn}::pg_lsn)::text as bytes`;
  return { commits: b.commits - a.commits, walBytes: Number(row!.bytes) };
}

/** Server processes serving this database (the relay's pool), for their CPU time. */
export async function backendPids(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  return rows.map((r) => r.pid);
}

/** Server version and the settings that shape write costs. */
export async function postgresInfo(target: DatabaseTarget): Promise<Record<string, string> | { pglite: true }> {
  if (target.kind === "pglite") return { pglite: true };
  const admin = adminClient(target.adminUrl);
  try {
    const [row] = await admin<Record<string, string>[]>`
      select version() as version, current_setting('synchronous_commit') as synchronous_commit,
             current_setting('shared_buffers') as shared_buffers, current_setting('max_connections') as max_connections`;
    return row!;
  } finally {
    await admin.end({ timeout: 5 });
  }
}
