import type { Readable, Writable } from "node:stream";
import { createAdminClient, createRelayClient, type AdminClient, type RelayClient } from "../client/index.js";
import { UsageError } from "./usage-error.js";

export const DEFAULT_RELAY_URL = "http://127.0.0.1:8080";

/** What every command gets: its streams, the environment and fetch (all injectable, for tests). */
export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  /** Set by commands that decide their own exit code (serve). */
  exitCode?: number;
}

export interface ConnectionOptions {
  url?: string;
  apiKey?: string;
  adminKey?: string;
}

export const print = (ctx: CliContext, text = "") => void ctx.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
export const warn = (ctx: CliContext, text: string) => void ctx.stderr.write(`${text}\n`);
/** `--json`: the API's `data`, exactly. */
export const printJson = (ctx: CliContext, data: unknown) => void ctx.stdout.write(`${JSON.stringify(data, null, 2)}\n`);

function relayUrl(ctx: CliContext, options: ConnectionOptions): string {
  const url = options.url ?? ctx.env.RELAY_URL ?? DEFAULT_RELAY_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError("RELAY_URL / --url is not a URL (expected e.g. http://127.0.0.1:8080)");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError("RELAY_URL / --url must be http(s)");
  return url;
}

/** Keys are checked here so that fetch never quotes one in an error. */
function checkKey(key: string, name: string): string {
  if (!/^[\x21-\x7e]{1,1024}$/.test(key)) throw new UsageError(`${name} must be printable ASCII without spaces`);
  return key;
}

export function tenantClient(ctx: CliContext, options: ConnectionOptions): RelayClient {
  const apiKey = options.apiKey ?? ctx.env.RELAY_API_KEY;
  if (!apiKey) throw new UsageError("no API key: set RELAY_API_KEY or pass --api-key");
  return createRelayClient({ baseUrl: relayUrl(ctx, options), apiKey: checkKey(apiKey, "the API key"), fetch: ctx.fetch });
}

export function adminClient(ctx: CliContext, options: ConnectionOptions): AdminClient {
  const adminKey = options.adminKey ?? ctx.env.RELAY_ADMIN_KEY;
  if (!adminKey) throw new UsageError("no admin key: set RELAY_ADMIN_KEY or pass --admin-key");
  return createAdminClient({ baseUrl: relayUrl(ctx, options), adminKey: checkKey(adminKey, "the admin key"), fetch: ctx.fetch });
}

/** A secret given as `-` is read from stdin (so it stays out of shell history); trailing newlines are dropped. */
export async function secretArgument(ctx: CliContext, value: string, name: string): Promise<string> {
  if (value !== "-") return value;
  if ((ctx.stdin as { isTTY?: boolean }).isTTY) ctx.stderr.write(`${name} (then Enter and Ctrl-D): `);
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  const text = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/[\r\n]+$/, "");
  if (text === "") throw new UsageError(`${name}: nothing on stdin`);
  return text;
}
