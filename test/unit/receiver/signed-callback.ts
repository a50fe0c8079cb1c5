import { randomBytes } from "node:crypto";
import { buildEventBody } from "../../../src/domain/events.js";
import { signPayload } from "../../../src/delivery/sign.js";

export const newSecret = (bytes = 32): string => `whsec_${randomBytes(bytes).toString("base64")}`;
export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** A real event body, built by the relay's own builder. */
export function eventBody(
  overrides: { type?: "job.completed" | "watch.expired"; metadata?: Record<string, unknown> } = {},
): string {
  const type = overrides.type ?? "job.completed";
  return buildEventBody({
    type,
    observedAt: new Date("2026-11-27T05:07:04.577Z"),
    watchId: "wch_01m8dpcqe94bq4cd4fjdc6t9x2",
    jobId: "job_8f2c41d0",
    job:
      type === "watch.expired"
        ? null
        : {
            id: "job_8f2c41d0",
            type: "export_video",
            status: "completed",
            result_data: JSON.stringify({ storage_url: "https://storage.rendley.com/exports/a.mp4" }),
            error: null,
          },
    metadata: overrides.metadata ?? { order_id: "ord_42", note: "é ✓ \u2028" },
    ...(type === "watch.expired" ? { reason: "job_not_found" } : {}),
  });
}

/** A callback signed exactly as the relay signs it (src/delivery/sign.ts), with plain lowercase headers. */
export function signedCallback(
  secrets: string[],
  options: { body?: string; id?: string; timestampSec?: number } = {},
): { body: string; headers: Record<string, string> } {
  const body = options.body ?? eventBody();
  const id = options.id ?? `msg_${randomBytes(8).toString("hex")}`;
  const ts = options.timestampSec ?? nowSec();
  return {
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signPayload(secrets, id, ts, body),
    },
  };
}
