import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** `--name value` and `--flag` pairs of a bench child's command line. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) flags.set(arg.slice(2), "true");
    else flags.set(arg.slice(2), argv[++i]!);
  }
  return flags;
}

/** A numeric flag, or the fallback. */
export function numberFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got ${raw}`);
  return value;
}

/** The whole request body as text (control requests are small). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Answers with a JSON document. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Listens on 127.0.0.1 (never anything wider), then prints `READY {"port":…}` on stdout: the orchestrator
 * waits for that line. Keep-alive outlives the clients' pools so connections are not churned mid-run.
 */
export async function listenAndAnnounce(server: Server, port: number, extra: Record<string, unknown> = {}): Promise<number> {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  process.stdout.write(`READY ${JSON.stringify({ port: bound, ...extra })}\n`);
  return bound;
}

/**
 * Ends this process when the orchestrator goes away (its end of our stdin closes, even on SIGKILL), and on
 * SIGTERM/SIGINT: a crashed benchmark must not leave servers behind.
 */
export function exitWithParent(onExit: () => void = () => process.exit(0)): void {
  process.stdin.on("end", onExit);
  process.stdin.on("error", onExit);
  process.stdin.resume();
  process.on("SIGTERM", onExit);
  process.on("SIGINT", onExit);
}
