import { sql } from "drizzle-orm";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createDb, databaseOptions } from "../../src/db/client.js";
import { appliedMigrations, migrate, MIGRATIONS_DIR } from "../../src/db/migrate.js";
import { createLogger } from "../../src/lib/logger.js";
import { startRelay, type Relay } from "../../src/relay.js";
import { findPgBouncer, startPgBouncer, type PgBouncer } from "../support/pgbouncer.js";
import { captureLogs, relayTestEnv, TEST_API_KEY } from "../support/relay-harness.js";

/** Creating and dropping databases, and looking at them from outside, go to the server directly. */
const PG = process.env.TEST_DATABASE_URL;
const PGBOUNCER = findPgBouncer();
const JOURNAL = JSON.parse(readFileSync(join(MIGRATIONS_DIR, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
/** The relays here serve the API only: nothing polls Rendley, nothing is delivered. */
const API_ONLY = { roles: { scheduler: false, delivery: false, maintenance: false } } as const;
const ENV = relayTestEnv({ url: "http://127.0.0.1:9", apiKey: "rk_unused_here" });

if (!PG) console.warn("pgbouncer: TEST_DATABASE_URL is not set, so the PgBouncer and prepared-statement tests do not run");
else if (!PGBOUNCER)
  console.warn(
    "pgbouncer: the pgbouncer binary is not installed (apt-get install pgbouncer; .ci/run installs it), so the PgBouncer test does not run",
  );

/** A new, empty database on the server (no migration yet): `url(host)` names it on a server or pooler URL. */
async function emptyDatabase(): Promise<{ name: string; url(server?: string): string; drop(): Promise<void> }> {
  const name = `relay_pgb_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(PG!, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url(server = PG!) {
      const u = new URL(server);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async drop() {
      const again = postgres(PG!, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`).finally(() => again.end());
    },
  };
}

describe.runIf(PG)("DATABASE_PREPARED_STATEMENTS and DATABASE_MIGRATION_URL (Postgres, direct)", () => {
  it("false reaches postgres.js: the relay's queries leave no named prepared statement on their connection", async () => {
    const db = await emptyDatabase();
    const relays: Relay[] = [];
    try {
      const start = async (extra: Record<string, string>) => {
        const relay = await startRelay(loadConfig({ ...ENV, DATABASE_URL: db.url(), ...extra }), {
          logger: createLogger({ level: "silent" }),
          ...API_ONLY,
        });
        relays.push(relay);
        return relay;
      };
      const count = sql`select count(*)::int as n from pg_prepared_statements`;
      const unprepared = await start({ DATABASE_PREPARED_STATEMENTS: "false" });
      expect((await unprepared.deps.db.rows<{ n: number }>(count))[0]!.n).toBe(0);
      // The default names every statement: this very query is one on its connection.
      const prepared = await start({});
      expect((await prepared.deps.db.rows<{ n: number }>(count))[0]!.n).toBeGreaterThan(0);
      // Straight to Postgres, the session default is sent at connection start.
      const [timeout] = await prepared.deps.db.rows<{ t: string }>(
        sql`select current_setting('idle_in_transaction_session_timeout') as t`,
      );
      expect(timeout!.t).toBe("10s");
    } finally {
      await Promise.all(relays.map((r) => r.stop({ graceMs: 100 })));
      await db.drop();
    }
  });

  it("DATABASE_MIGRATION_URL: migrations go over it, not over DATABASE_URL", async () => {
    const [served, migrated] = await Promise.all([emptyDatabase(), emptyDatabase()]);
    // Two databases only to tell the connections apart; in use both URLs name the same one.
    const config = loadConfig({ ...ENV, DATABASE_URL: served.url(), DATABASE_MIGRATION_URL: migrated.url() });
    const db = await createDb(databaseOptions(config));
    try {
      await migrate(db);
      expect(await appliedMigrations(db)).toBe(0);
      const other = await createDb({ databaseUrl: migrated.url(), dataDir: "memory://" });
      expect(await appliedMigrations(other)).toBe(JOURNAL.entries.length);
      await other.close();
    } finally {
      await db.close();
      await Promise.all([served.drop(), migrated.drop()]);
    }
  });
});

describe.runIf(PG && PGBOUNCER)("behind PgBouncer in transaction pooling mode", () => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer(PG!, { binary: PGBOUNCER! });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  it("two relays starting at once on an empty database migrate it once, through the pooler, and serve", async () => {
    const db = await emptyDatabase();
    const relays: Relay[] = [];
    const { lines, stream } = captureLogs();
    try {
      const env = {
        ...ENV,
        DATABASE_URL: bouncer.url(db.name),
        // PgBouncer 1.18 (Debian bookworm's) cannot carry named prepared statements between transactions.
        DATABASE_PREPARED_STATEMENTS: String(bouncer.preparedStatements),
      };
      const start = () =>
        startRelay(loadConfig(env), { logger: createLogger({ level: "warn", destination: stream }), ...API_ONLY });
      const started = await Promise.allSettled([start(), start()]);
      for (const s of started) if (s.status === "fulfilled") relays.push(s.value);
      expect(
        started.map((s) => s.status),
        `relay logs: ${lines.slice(-5).join("\n")}\npgbouncer ${bouncer.version}: ${bouncer.log.slice(-5).join("\n")}`,
      ).toEqual(["fulfilled", "fulfilled"]);

      // Seen from outside the pooler: every migration recorded once, and no advisory lock left behind on a server
      // connection (a session lock taken through a transaction pooler can outlive the relay that took it).
      const direct = postgres(db.url(), { max: 1, onnotice: () => {} });
      try {
        const applied = await direct<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`;
        expect(applied).toHaveLength(JOURNAL.entries.length);
        expect(new Set(applied.map((m) => m.hash)).size).toBe(applied.length);
        const locks = await direct`select 1 from pg_locks l join pg_database d on d.oid = l.database
          where l.locktype = 'advisory' and d.datname = ${db.name}`;
        expect(locks).toHaveLength(0);
      } finally {
        await direct.end();
      }

      // Both serve through the pooler: what one stores the other reads, repeated queries included.
      const [a, b] = relays as [Relay, Relay];
      const auth = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };
      for (let i = 0; i < 3; i++) {
        const created = await fetch(`${a.url}/v1/watches`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ job_id: `job_pgb_${i}`, callback_url: "http://127.0.0.1:9/hook" }),
        });
        expect(created.status).toBe(201);
        const { data } = (await created.json()) as { data: { id: string } };
        const read = await fetch(`${b.url}/v1/watches/${data.id}`, { headers: auth });
        expect(read.status).toBe(200);
      }
      expect((await fetch(`${b.url}/v1/watches?limit=10`, { headers: auth }).then((r) => r.json())) as any).toMatchObject({
        data: { length: 3 },
      });
    } finally {
      await Promise.all(relays.map((r) => r.stop({ graceMs: 100 })));
      await db.drop();
    }
  });

  it("a pooler refusing the relay's startup parameter is met by connecting without it", async () => {
    // PgBouncer closes a connection whose startup packet carries a parameter it does not track
    // (idle_in_transaction_session_timeout) unless its ignore_startup_parameters lists it.
    const plain = postgres(bouncer.url("postgres"), {
      max: 1,
      prepare: false,
      onnotice: () => {},
      connection: { idle_in_transaction_session_timeout: 10_000 },
    });
    await expect(plain`select 1`).rejects.toMatchObject({
      code: "08P01",
      message: expect.stringMatching(/unsupported startup parameter/),
    });
    await plain.end();
    const db = await createDb({
      databaseUrl: bouncer.url("postgres"),
      dataDir: "memory://",
      preparedStatements: bouncer.preparedStatements,
    });
    try {
      expect(await db.rows(sql`select 1 as ok`)).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });
});
