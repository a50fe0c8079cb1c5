#!/usr/bin/env node
// The `rendley-relay` command: the compiled code in dist/ (`npm run build`; a published package ships it),
// else src/ compiled on the fly by tsx (Node's own type stripping does not map src/'s `.js` imports to `.ts`):
// in a checkout that was never built, or whose src/ changed after the last build, so the command never runs
// stale code.
import { fileURLToPath } from "node:url";
import { distIsCurrent } from "./build-state.js";

const built = distIsCurrent(fileURLToPath(new URL("..", import.meta.url)));
if (!built) {
  const { register } = await import("tsx/esm/api");
  register();
}
const from = built ? "../dist" : "../src";
const ext = built ? "js" : "ts";
// On an unsupported Node: one line and exit 1, before anything loads undici 8 or uses a newer API.
await import(`${from}/check-node.${ext}`);
const { runCli } = await import(`${from}/cli/main.${ext}`);
if (process.argv[2] === "serve") {
  // The long-running server survives the one known uncatchable postgres.js error, as `npm start` does.
  const { guardDriverBugs } = await import(`${from}/main.${ext}`);
  guardDriverBugs();
}
process.exit(await runCli(process.argv.slice(2)));
