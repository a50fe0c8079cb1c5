/**
 * `node --import tsx scripts/with-pgbouncer.ts <command> [args…]`: runs a command with the relays' database behind
 * PgBouncer in transaction pooling mode (`.ci/run`'s PgBouncer run). It starts Debian's `pgbouncer` on a free
 * loopback port in front of TEST_DATABASE_URL's server (test/support/pgbouncer.ts), runs the command with
 *
 * - TEST_DATABASE_POOL_URL: the pooler's URL. The test harness (test/support/test-db.ts) and the chaos run send the
 *   relays' connections there, while creating and dropping databases still goes to TEST_DATABASE_URL directly;
 * - TEST_DATABASE_PREPARED_STATEMENTS: `false` when this pgbouncer cannot carry named prepared statements (before
 *   1.21), so the relays run with DATABASE_PREPARED_STATEMENTS=false, as the README says to;
 *
 * then stops pgbouncer and exits with the command's exit code.
 */
import { spawn } from "node:child_process";
import { startPgBouncer } from "../test/support/pgbouncer.js";

const [command, ...args] = process.argv.slice(2);
const serverUrl = process.env.TEST_DATABASE_URL;
if (!command || !serverUrl) {
  console.error("usage: TEST_DATABASE_URL=postgres://… node --import tsx scripts/with-pgbouncer.ts <command> [args…]");
  process.exit(2);
}

const bouncer = await startPgBouncer(serverUrl);
const poolUrl = bouncer.url(new URL(serverUrl).pathname.slice(1));
console.log(
  `== pgbouncer ${bouncer.version} (pool_mode = transaction) on 127.0.0.1:${bouncer.port} in front of ${new URL(serverUrl).host}; ` +
    `prepared statements ${bouncer.preparedStatements ? "kept (max_prepared_statements = 200)" : "off: DATABASE_PREPARED_STATEMENTS=false (before 1.21)"}`,
);
const child = spawn(command, args, {
  stdio: "inherit",
  env: {
    ...process.env,
    TEST_DATABASE_POOL_URL: poolUrl,
    TEST_DATABASE_PREPARED_STATEMENTS: String(bouncer.preparedStatements),
  },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
const code = await new Promise<number>((resolve) => child.once("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1))));
if (code !== 0) {
  console.log(`== pgbouncer's last lines:\n${bouncer.log.slice(-20).join("\n")}`);
}
await bouncer.stop();
process.exit(code);
