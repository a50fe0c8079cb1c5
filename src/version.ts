import { readFileSync } from "node:fs";

/** The package version, sent in `user-agent: rendley-relay/<version>`. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

export const USER_AGENT = `rendley-relay/${VERSION}`;
