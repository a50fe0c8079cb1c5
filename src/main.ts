// First: on an unsupported Node, one line and exit 1, before anything below loads (src/check-node.ts).
import "./check-node.js";
import { pathToFileURL } from "node:url";
import { runServe } from "./cli/serve.js";
import { isDriverConnectionLoss, isDriverWriteBug, recyclePostgresPools } from "./db/client.js";
import { processEnv } from "./environment.js";

/** One warning line, written directly: the logger belongs to the relay, and these come from outside it. */
function warnDriverBug(msg: string, fields: Record<string, unknown>): void {
  process.stdout.write(
    JSON.stringify({ level: 40, time: new Date().toISOString(), service: "rendley-relay", ...fields, msg }) + "\n",
  );
}

/**
 * Survives the two known driver errors no caller can catch: a write on a closed connection from a
 * `setImmediate` (`isDriverWriteBug`: the database pools are replaced) and the rejected array-type fetch of a
 * connection that died while it started (`isDriverConnectionLoss`: the pool reconnects by itself). Anything
 * else thrown outside a promise chain, or rejected without a handler, still ends the process with code 1,
 * as Node does by default.
 */
export function guardDriverBugs(): void {
  process.on("uncaughtException", (err) => {
    if (isDriverWriteBug(err)) {
      const pools = recyclePostgresPools();
      warnDriverBug("postgres.js wrote to a closed connection (porsager/postgres#1154); database pools replaced", { pools });
      return;
    }
    process.stderr.write(`Uncaught exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    if (isDriverConnectionLoss(reason)) {
      const code = (reason as { code?: string }).code;
      warnDriverBug("postgres.js lost a connection while it started (porsager/postgres#1223); it reconnects", { code });
      return;
    }
    throw reason; // Node's default: an uncaught exception (handled above: printed, exit 1)
  });
}

// `npm start` = `rendley-relay serve`: config → startRelay → signals (src/cli/serve.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  guardDriverBugs();
  void runServe(processEnv(), { stderr: process.stderr }).then((code) => process.exit(code));
}
