import postgres from "postgres";

/** The run's own database, `relay_chaos_<pid>`, on the server of CHAOS_DATABASE_URL / TEST_DATABASE_URL (never `test` itself). */
export interface ChaosDatabase {
  readonly name: string;
  /** The relays' URL: through `poolUrl`'s pooler when one is given, else straight to the server. */
  readonly url: string;
  /** host and port the relays connect to, the server's or its pooler's (for the outage proxy). */
  readonly host: string;
  readonly port: number;
  watchStatuses(): Promise<Record<string, number>>;
  deliveryStatuses(): Promise<Record<string, number>>;
  drop(): Promise<void>;
}

/** Created and dropped over `serverUrl` directly; with `poolUrl` (a pooler in front of that server) the relays go through it. */
export async function createChaosDatabase(serverUrl: string, poolUrl?: string): Promise<ChaosDatabase> {
  const name = `relay_chaos_${process.pid}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const direct = new URL(serverUrl);
  direct.pathname = `/${name}`;
  const u = new URL(poolUrl ?? serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const grouped = async (table: "watches" | "deliveries") => {
    const sql = postgres(direct.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      const rows = await sql.unsafe<{ status: string; n: number }[]>(
        `select status, count(*)::int as n from ${table} group by status`,
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  let dropped = false;
  return {
    name,
    url,
    host: u.hostname,
    port: Number(u.port || 5432),
    watchStatuses: () => grouped("watches"),
    deliveryStatuses: () => grouped("deliveries"),
    async drop() {
      if (dropped) return;
      dropped = true;
      const again = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
      try {
        await again.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await again.end({ timeout: 5 });
      }
    },
  };
}
