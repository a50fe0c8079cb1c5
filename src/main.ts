import { pathToFileURL } from "node:url";
import { runServe } from "./cli/serve.js";

/**
 * The process's environment. Only this file and config.ts read it: entry points (`npm start` below, the
 * `rendley-relay` CLI) take it from here and hand it down.
 */
export const processEnv = (): Record<string, string | undefined> => process.env;

// `npm start` = `rendley-relay serve`: config → startRelay → signals (src/cli/serve.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void runServe(process.env, { stderr: process.stderr }).then((code) => process.exit(code));
}
