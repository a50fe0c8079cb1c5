/**
 * The properties every answer must satisfy: no 5xx (unless a known bug's trigger and database error), the error
 * envelope on every refusal, no leaked internals, nothing but a valid key gets data, idempotency, the body limit.
 */
import type { TestWorld } from "../relay-harness.js";
import { ADMIN_KEY, BASE, MAX_BODY_BYTES } from "./constants.js";
import { J } from "./hostile-text.js";
import { featuresOf, KNOWN_BUGS } from "./known-bugs.js";
import type { Spec } from "./requests.js";
import { bytesOf, type Answer } from "./send.js";
import { count, type FuzzStats } from "./stats.js";

const ERROR_CODE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const LEAKS = [
  /\n\s+at /,
  /\\n\s+at /,
  /\.ts:/,
  /node_modules/,
  /node:internal/,
  new RegExp(process.cwd().replace(/[/.]/g, "\\$&")),
];

export function envelopeProblem(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return "the body is not JSON";
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (!error || typeof error !== "object") return "no `error` object";
  if (typeof error.code !== "string" || !ERROR_CODE.test(error.code)) return `error.code ${J(error.code)} is not snake_case`;
  if (typeof error.message !== "string") return "error.message is not a string";
  if (error.details !== undefined) {
    const ok =
      Array.isArray(error.details) &&
      error.details.every(
        (d: unknown) =>
          typeof (d as { path?: unknown })?.path === "string" && typeof (d as { message?: unknown })?.message === "string",
      );
    if (!ok) return "error.details is not [{path, message}]";
  }
  return undefined;
}

export interface Context {
  world: TestWorld;
  validKeys: Set<string>;
  foreignWatchId: string;
  tenantBKey: string;
  ledger: Map<string, { fingerprint: string; watchId: string }>;
  /** The run's counters (shared with the test file, which prints them). */
  stats: FuzzStats;
}

/** What was sent, reduced to what the checks need (one shape for the three channels). */
export interface Sent {
  channel: "inProcess" | "fetch" | "raw";
  method: string;
  path: string;
  headers: Array<[string, string]>;
  bodyText: string | undefined;
  bodyBytes: number;
  logFrom: number;
  /** Raw requests that @hono/node-server refuses before the app runs (bare 400). */
  adapterMayRefuse?: boolean;
}

export function describeSent(sent: Sent, answer: Answer): string {
  const cut = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
  return J({
    channel: sent.channel,
    method: sent.method,
    path: cut(sent.path),
    headers: sent.headers.map(([k, v]) => [k, cut(v, 80)]),
    body: sent.bodyText === undefined ? undefined : cut(sent.bodyText),
    status: answer.status,
    answer: cut(answer.body),
  });
}

export function knownBugFor(ctx: Context, sent: Sent): string | undefined {
  const causes = ctx.world.logs
    .slice(sent.logFrom)
    .filter((line) => line.includes('"unhandled error"'))
    .map((line) => {
      try {
        const parsed = JSON.parse(line) as { err?: { cause?: string; message?: string } };
        return `${parsed.err?.cause ?? ""} ${parsed.err?.message ?? ""}`;
      } catch {
        return line;
      }
    });
  if (causes.length === 0) return undefined;
  const features = featuresOf(sent.path, sent.bodyText);
  return KNOWN_BUGS.find((bug) => bug.trigger(features) && causes.every((cause) => bug.cause.test(cause)))?.id;
}

export function check(ctx: Context, sent: Sent, answer: Answer): void {
  const fail = (problem: string) => {
    throw new Error(`${problem}: ${describeSent(sent, answer)}`);
  };
  ctx.stats.sent[sent.channel]++;
  count(ctx.stats.byStatus, String(answer.status));
  count(ctx.stats.byClass, `${String(answer.status)[0]}xx`);

  if (!answer.fromServer) {
    // Node's HTTP parser refused the bytes before the app ran: the relay's clientError handler still answers
    // with the envelope (or the socket is simply closed, for a reset).
    ctx.stats.rejectedByNodeParser++;
    if (answer.status >= 500) fail("a parser refusal answered 5xx");
    const problem = answer.body === "" ? undefined : envelopeProblem(answer.body);
    if (problem) fail(`a parser refusal without the error envelope (${problem})`);
    return;
  }
  if (answer.status >= 500) {
    ctx.stats.fiveXx++;
    const bug = knownBugFor(ctx, sent);
    if (!bug) fail(`answered ${answer.status}`);
    count(ctx.stats.knownBug5xx, bug!);
  }
  const requestText = [sent.path, ...sent.headers.map(([, v]) => v), sent.bodyText ?? ""].join("\n");
  for (const leak of LEAKS) if (leak.test(answer.body) && !leak.test(requestText)) fail(`the answer leaks internals (${leak})`);

  const head = sent.method.toUpperCase() === "HEAD";
  const is2xx = answer.status >= 200 && answer.status < 300;
  if (!is2xx && !head) {
    if (sent.adapterMayRefuse && answer.status === 400 && answer.body === "") {
      // @hono/node-server's own refusal of a malformed request (no or a bad Host header, a backslash in the
      // path, a target that is neither a path nor an absolute URL): the app never saw it.
      ctx.stats.rejectedByAdapter++;
      return;
    }
    const problem = envelopeProblem(answer.body);
    if (problem) fail(`a ${answer.status} without the error envelope (${problem})`);
    count(ctx.stats.errorCodes, (JSON.parse(answer.body) as { error: { code: string } }).error.code);
    if (!/^application\/json/.test(answer.contentType ?? "")) fail(`a ${answer.status} answered as ${answer.contentType}`);
  }
  if (!is2xx || head) return;

  // Only a valid key gets data from /v1; only the admin key gets admin data; no tenant sees another's watch.
  const auth = sent.headers.filter(([k]) => k.toLowerCase() === "authorization").map(([, v]) => v);
  const carries = (keys: Iterable<string>) => [...keys].some((key) => auth.some((v) => v.includes(key)));
  let parsed: { data?: unknown; openapi?: unknown } | undefined;
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    fail("a 2xx whose body is not JSON");
  }
  const data = parsed?.data as Record<string, unknown> | undefined;
  const isPublic =
    parsed?.openapi !== undefined || (data?.status === "ok" && Object.keys(data).length === 1) || data?.checks !== undefined;
  if (!isPublic && !carries(ctx.validKeys)) fail("a 2xx without a valid key");
  const items: unknown[] = Array.isArray(data) ? data : [data, data?.tenant, data?.api_key];
  const adminShaped = items.some(
    (i) => i && typeof i === "object" && ("rendley_key_set" in i || ("source" in i && "prefix" in i)),
  );
  if (adminShaped && !carries([ADMIN_KEY])) fail("admin data without the admin key");
  if (answer.body.includes(ctx.foreignWatchId) && !carries([ctx.tenantBKey])) fail("another tenant's watch");
  const newKey = (data?.api_key as { key?: unknown } | undefined)?.key ?? data?.key;
  if (typeof newKey === "string") ctx.validKeys.add(newKey);
}

/** Idempotency: the same key with the same request never makes a second watch, and answers 200 with the first one. */
export function checkIdempotency(ctx: Context, spec: Spec, answer: Answer): void {
  if (spec.method !== "POST" || new URL(BASE + spec.path).pathname !== "/v1/watches" || answer.status >= 300) return;
  const auth = spec.headers.filter(([k]) => k === "authorization").map(([, v]) => v);
  const keys = spec.headers.filter(([k]) => k === "idempotency-key").map(([, v]) => v);
  const id = (JSON.parse(answer.body) as { data: { id: string } }).data.id;
  if (answer.status === 201) ctx.stats.watchesCreated++;
  if (auth.length !== 1 || keys.length !== 1) return;
  const slot = `${auth[0]}|${keys[0]}`;
  const fingerprint = J([
    spec.headers,
    typeof spec.body === "string" ? spec.body : Buffer.from(spec.body ?? []).toString("base64"),
  ]);
  const first = ctx.ledger.get(slot);
  if (!first) {
    if (answer.status === 201) ctx.ledger.set(slot, { fingerprint, watchId: id });
    return;
  }
  const problem =
    answer.status === 201
      ? "a second watch for one Idempotency-Key"
      : id !== first.watchId
        ? "an idempotent repeat answered with another watch"
        : undefined;
  if (problem) throw new Error(`${problem}: ${J({ slot, first: first.watchId, now: id })}`);
  if (first.fingerprint === fingerprint) ctx.stats.idempotentRepeats++;
}

/** Bodies over 64 KiB to /v1 are refused with 413 before anything else; bodies within it never are. */
export function checkSizeLimit(spec: Spec, request: Request, answer: Answer): void {
  if (spec.body === undefined || !new URL(request.url).pathname.startsWith("/v1/")) return;
  const bytes = bytesOf(spec.body);
  if (bytes > MAX_BODY_BYTES !== (answer.status === 413)) {
    throw new Error(`a ${bytes}-byte body answered ${answer.status}: ${spec.method} ${spec.path.slice(0, 200)}`);
  }
}
