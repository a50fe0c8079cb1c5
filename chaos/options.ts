/** `npm run chaos [-- --ci] [--seed N] [--restart-postgres] [--flap-db] [--watches N] [--duration S] [--no-kills]` */
export interface ChaosOptions {
  mode: "full" | "ci";
  seed: number;
  watches: number;
  durationMs: number;
  /** How long the drain after the faults may take before the verdict is given anyway. */
  drainTimeoutMs: number;
  receiverDownMs: number;
  outageMs: number;
  restartPostgres: boolean;
  /** `--flap-db`: before the long outage, cut the proxy every 1–5 s for 50–2,500 ms. */
  flapDatabase: boolean;
  /** `--no-kills`: no SIGKILL/SIGTERM, so each relay lives the whole run (a memory-over-time check). */
  kills: boolean;
  serverUrl: string;
  /** TEST_DATABASE_POOL_URL: the relays reach their database through this pooler (PgBouncer) instead of `serverUrl`. */
  poolUrl: string | undefined;
  /** TEST_DATABASE_PREPARED_STATEMENTS=false: the relays run with DATABASE_PREPARED_STATEMENTS=false. */
  preparedStatements: boolean;
}

export function parseOptions(argv: string[], env: Record<string, string | undefined>): ChaosOptions {
  const flag = (name: string) => argv.includes(name);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${name} needs a whole number`);
    return Number(v);
  };
  const known = new Set(["--ci", "--seed", "--restart-postgres", "--flap-db", "--watches", "--duration", "--no-kills"]);
  for (const a of argv) if (a.startsWith("--") && !known.has(a)) throw new Error(`unknown option ${a}`);
  const ci = flag("--ci");
  const serverUrl = env.CHAOS_DATABASE_URL ?? env.TEST_DATABASE_URL;
  if (!serverUrl)
    throw new Error("set CHAOS_DATABASE_URL or TEST_DATABASE_URL (a Postgres server the run may create a database on)");
  return {
    mode: ci ? "ci" : "full",
    seed: value("--seed") ?? Math.floor(Math.random() * 2 ** 31),
    watches: value("--watches") ?? (ci ? 300 : 2_000),
    durationMs: (value("--duration") ?? (ci ? 120 : 300)) * 1000,
    drainTimeoutMs: ci ? 150_000 : 240_000,
    receiverDownMs: 60_000,
    outageMs: 10_000,
    restartPostgres: flag("--restart-postgres") || env.CHAOS_RESTART_POSTGRES === "1",
    flapDatabase: flag("--flap-db"),
    kills: !flag("--no-kills"),
    serverUrl,
    poolUrl: env.TEST_DATABASE_POOL_URL || undefined,
    preparedStatements: env.TEST_DATABASE_PREPARED_STATEMENTS !== "false",
  };
}
