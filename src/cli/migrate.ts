import { Command } from "commander";
import { print, printJson, warn, type CliContext } from "./context.js";

/** A placeholder for RENDLEY_API_KEY, which loadConfig requires but migrating never uses. */
const UNUSED_RENDLEY_KEY = "unused-by-migrate";

/** Where the database is, without credentials. */
function describeDatabase(databaseUrl: string | undefined, dataDir: string): string {
  if (!databaseUrl) return `PGlite in ${dataDir}`;
  try {
    const url = new URL(databaseUrl);
    return `Postgres at ${url.host}${url.pathname}`;
  } catch {
    return "Postgres";
  }
}

/** Applies pending migrations to the configured database (DATABASE_URL or RELAY_DATA_DIR) and closes it. */
export function migrateCommand(ctx: CliContext): Command {
  return new Command("migrate")
    .description("apply pending database migrations (DATABASE_URL, or PGlite in RELAY_DATA_DIR), then exit")
    .option("--json", "print {database, applied, total} as JSON")
    .action(async (o: { json?: boolean }) => {
      const [{ loadConfig }, { ConfigError }, { coerceError }, { createDb, databaseOptions }, { appliedMigrations, migrate }] =
        await Promise.all([
          import("../config.js"),
          import("../errors.js"),
          import("../lib/error-for-log.js"),
          import("../db/client.js"),
          import("../db/migrate.js"),
        ]);
      let config;
      try {
        config = loadConfig({ ...ctx.env, RENDLEY_API_KEY: ctx.env.RENDLEY_API_KEY || UNUSED_RENDLEY_KEY });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        warn(ctx, `rendley-relay: ${err.message}`);
        ctx.exitCode = 2;
        return;
      }
      const database = describeDatabase(config.databaseUrl, config.dataDir);
      let db: Awaited<ReturnType<typeof createDb>> | undefined;
      try {
        db = await createDb({ ...databaseOptions(config), maxConnections: 1 });
        const before = await appliedMigrations(db);
        await migrate(db);
        const total = await appliedMigrations(db);
        const result = { database, applied: total - before, total };
        if (o.json) printJson(ctx, result);
        else print(ctx, `${database}: applied ${result.applied} migration${result.applied === 1 ? "" : "s"} (${total} in total)`);
      } catch (err) {
        warn(ctx, `rendley-relay: could not migrate ${database}: ${coerceError(err).message}`);
        ctx.exitCode = 1;
      } finally {
        await db?.close().catch(() => {});
      }
    });
}
