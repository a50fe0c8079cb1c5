import { unsupportedNodeMessage } from "./node-version.js";

/*
 * Imported first by the entry points (src/main.ts; bin/rendley-relay.js before anything else of the relay). ES
 * modules run in import order, so on an unsupported Node this says so in one line and exits 1 before anything
 * loads undici 8 (which throws on import on Node 20) or uses an API an older Node lacks.
 */
const problem = unsupportedNodeMessage(process.version);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
