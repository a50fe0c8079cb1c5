import { pathToFileURL } from "node:url";
import { runServe } from "./cli/serve.js";
import { isDriverWriteBug, recyclePostgresPools } from "./db/client.js";

/**
 * The process's environment. Only this file and config.ts read it: entry points (`npm start` below, the
 * `rendley-relay` CLI) take it from here and hand it down.
 */
export const processEnv = (): Record<string, string | undefined> => process.env;

/**
 * Survives the one known uncatchable driver error (see `isDriverWriteBug`) by replacing the database pools;
 * anything else thrown outside a promise chain still ends the process with code 1, as Node does by default.
 */
export function guardDriverWriteBug(): void {
  process.on("uncaughtException", (err) => {
    if (isDriverWriteBug(err)) {
      const pools = recyclePostgresPools();
      process.stdout.write(
        JSON.stringify({
          level: 40,
          time: new Date().toISOString(),
          service: "rendley-relay",
          pools,
          msg: "postgres.js wrote to a closed connection (porsager/postgres#1154); database pools replaced",
        }) + "\n",
      );
      return;
    }
    process.stderr.write(`Uncaught exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

// `npm start` = `rendley-relay serve`: config → startRelay → signals (src/cli/serve.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  guardDriverWriteBug();
  void runServe(process.env, { stderr: process.stderr }).then((code) => process.exit(code));
}
