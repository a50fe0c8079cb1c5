#!/usr/bin/env node
// The `rendley-relay` command. Node 20 cannot run TypeScript itself: tsx compiles src/ on the fly.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/main.ts");
if (process.argv[2] === "serve") {
  // The long-running server survives the one known uncatchable postgres.js error, as `npm start` does.
  const { guardDriverWriteBug } = await import("../src/main.ts");
  guardDriverWriteBug();
}
process.exit(await runCli(process.argv.slice(2)));
