#!/usr/bin/env node
// The `rendley-relay` command: the compiled code in dist/ (`npm run build`; a published package ships it),
// else src/ compiled on the fly by tsx (Node 20 cannot run TypeScript itself): in a checkout that was never
// built, or whose src/ changed after the last build, so the command never runs stale code.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = (name) => fileURLToPath(new URL(`../${name}/`, import.meta.url));
/** Newest modification time of the files under `path` (0 when there are none). */
function newest(path) {
  let latest = 0;
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return latest;
}
const compiled = existsSync(`${dir("dist")}cli/main.js`);
// A package unpacks every file with one and the same time, so only a checkout's edits make src/ the newer.
const built = compiled && !(existsSync(dir("src")) && newest(dir("src")) > newest(dir("dist")));
if (!built) {
  const { register } = await import("tsx/esm/api");
  register();
}
const from = built ? "../dist" : "../src";
const ext = built ? "js" : "ts";
const { runCli } = await import(`${from}/cli/main.${ext}`);
if (process.argv[2] === "serve") {
  // The long-running server survives the one known uncatchable postgres.js error, as `npm start` does.
  const { guardDriverWriteBug } = await import(`${from}/main.${ext}`);
  guardDriverWriteBug();
}
process.exit(await runCli(process.argv.slice(2)));
