/** The API's own rules for a stored watch row (all but the callback URL, which needs the run's DNS log). */
import { JOB_EVENTS } from "../../../src/domain/events.js";
import { J } from "./hostile-text.js";

/** The watch columns the end-of-run check reads. */
export interface WatchRow {
  id: string;
  job_id: string;
  callback_url: string;
  events: string[];
  metadata: unknown;
  retry_schedule_ms: number[] | null;
  callback_headers: unknown;
  idempotency_key: string | null;
  request_hash: string | null;
}

/** What is wrong with a stored watch (its job id, events, metadata, retry schedule, headers, idempotency key). */
export function watchRowProblems(w: WatchRow): string[] {
  const problems: string[] = [];
  const bad = (what: string) => problems.push(`watch ${w.id}: ${what}`);
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(w.job_id)) bad(`job_id ${J(w.job_id.slice(0, 200))}`);
  if (!Array.isArray(w.events) || w.events.length === 0 || w.events.some((e) => !(JOB_EVENTS as readonly string[]).includes(e)))
    bad(`events ${J(w.events)}`);
  if (new Set(w.events).size !== w.events.length) bad(`repeated events ${J(w.events)}`);
  const metadata = typeof w.metadata === "string" ? (JSON.parse(w.metadata) as unknown) : w.metadata;
  if (metadata !== null) {
    if (typeof metadata !== "object" || Array.isArray(metadata)) bad(`metadata is not an object: ${J(metadata)?.slice(0, 100)}`);
    else if (Buffer.byteLength(J(metadata)) > 4096) bad(`metadata of ${Buffer.byteLength(J(metadata))} bytes`);
    else if (nestingOf(metadata) > 32) bad(`metadata ${nestingOf(metadata)} levels deep`);
  }
  const schedule = w.retry_schedule_ms;
  if (schedule !== null) {
    if (
      schedule.length > 20 ||
      schedule.some((ms) => !Number.isInteger(ms) || ms < 0) ||
      schedule.reduce((a, b) => a + b, 0) > 7 * 86_400_000
    )
      bad(`retry_schedule_ms ${J(schedule)}`);
  }
  const headers = (typeof w.callback_headers === "string" ? JSON.parse(w.callback_headers) : w.callback_headers) as Record<
    string,
    unknown
  > | null;
  if (headers !== null) {
    const entries = Object.entries(headers);
    const names = entries.map(([n]) => n.toLowerCase());
    if (entries.length > 5 || new Set(names).size !== names.length) bad(`callback_headers ${J(Object.keys(headers))}`);
    for (const [name, value] of entries) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(name)) bad(`callback header name ${J(name)}`);
      if (
        /^(content-type|content-length|user-agent|host|connection|keep-alive|transfer-encoding|te|trailer|upgrade|expect|proxy-.*|webhook-.*)$/i.test(
          name,
        )
      )
        bad(`reserved callback header ${J(name)}`);
      if (typeof value !== "string" || !/^[\t\x20-\x7e]{0,1024}$/.test(value)) bad(`callback header value for ${J(name)}`);
    }
  }
  if (w.idempotency_key !== null && !/^[\x21-\x7e]{1,255}$/.test(w.idempotency_key))
    bad(`idempotency_key ${J(w.idempotency_key.slice(0, 100))}`);
  if (w.request_hash !== null && !/^[0-9a-f]{64}$/.test(w.request_hash)) bad("request_hash");
  return problems;
}

/** Depth of a JSON value, iteratively. */
export function nestingOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    max = Math.max(max, depth);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}
