import { sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedCallback } from "../support/receiver.js";
import { startWorld, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
const signatures = (cb: ReceivedCallback) => (cb.headers["webhook-signature"] ?? "").split(" ");
const verifies = (cb: ReceivedCallback, secret: string) => {
  try {
    new Webhook(secret).verify(cb.rawBody, cb.headers);
    return true;
  } catch {
    return false;
  }
};
/** The `v1,…` entry `secret` gives for this callback. */
const signatureOf = (cb: ReceivedCallback, secret: string) =>
  new Webhook(secret).sign(cb.webhookId!, new Date(Number(cb.headers["webhook-timestamp"]) * 1000), cb.rawBody);

describe("signing secret rotation", () => {
  let world: TestWorld;
  let watchId: string;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  const rotate = (body?: unknown) =>
    world.api("/v1/signing-secret/rotate", body === undefined ? { method: "POST" } : { method: "POST", json: body });
  const current = async () => {
    const res = await world.api("/v1/signing-secret");
    expect(res.status).toBe(200);
    return res.body.data as { secret: string; previous_expires_at: string | null };
  };
  const secretRows = () =>
    world.relay.deps.db.rows<{ secret: string; expires_at: unknown }>(
      sql`select secret, expires_at from signing_secrets order by created_at, id`,
    );
  /** Asks for the watch's latest event again and returns the callback that brings it. */
  const sendAgain = async (): Promise<ReceivedCallback> => {
    const before = world.receiver.byWebhookId(deliveryId).length;
    const res = await world.api(`/v1/watches/${watchId}/redeliver`, { method: "POST" });
    expect(res.status).toBe(202);
    return waitFor(() => world.receiver.byWebhookId(deliveryId)[before], { timeoutMs: 5_000, message: "redelivered callback" });
  };
  /** Redelivers until a callback carries `count` signatures (the worker may sign with cached secrets for a moment). */
  const callbackWithSignatures = (count: number) =>
    waitFor(
      async () => {
        const cb = await sendAgain();
        return signatures(cb).length === count ? cb : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `a callback with ${count} signature(s)` },
    );
  let deliveryId: string;

  it("shows the current secret and no previous one before any rotation", async () => {
    expect(await current()).toEqual({ secret: TEST_SECRET, previous_expires_at: null });
  });

  it("refuses bad bodies with the error envelope and changes nothing", async () => {
    const before = { view: await current(), rows: await secretRows() };
    const cases: Array<[string, RequestInit & { json?: unknown }, number, string]> = [
      ["negative", { json: { grace_period_s: -1 } }, 400, "validation_failed"],
      ["over a week", { json: { grace_period_s: 604_801 } }, 400, "validation_failed"],
      ["a string", { json: { grace_period_s: "x" } }, 400, "validation_failed"],
      ["a numeric string", { json: { grace_period_s: "60" } }, 400, "validation_failed"],
      ["a fraction", { json: { grace_period_s: 1.5 } }, 400, "validation_failed"],
      ["null", { json: { grace_period_s: null } }, 400, "validation_failed"],
      ["an unknown field", { json: { grace_period: 60 } }, 400, "validation_failed"],
      ["a known and an unknown field", { json: { grace_period_s: 60, force: true } }, 400, "validation_failed"],
      ["an array", { json: [] }, 400, "validation_failed"],
      ["JSON null", { json: null }, 400, "validation_failed"],
      ["not JSON", { body: "{nope", headers: { "content-type": "application/json" } }, 400, "invalid_json"],
      ["text", { body: "60", headers: { "content-type": "text/plain" } }, 415, "unsupported_media_type"],
      ["a body without content type", { body: '{"grace_period_s":60}' }, 415, "unsupported_media_type"],
    ];
    for (const [name, init, status, code] of cases) {
      const res = await world.api("/v1/signing-secret/rotate", { method: "POST", ...init });
      expect({ name, status: res.status, code: res.body?.error?.code }).toEqual({ name, status, code });
      expect(typeof res.body.error.message).toBe("string");
    }
    const bad = await rotate({ grace_period_s: -1 });
    expect(bad.body).toEqual({
      error: { code: "validation_failed", message: expect.stringContaining("grace_period_s"), details: [expect.any(Object)] },
    });
    expect(bad.body.error.details[0].path).toBe("grace_period_s");
    expect((await rotate({ grace_period_s: 60, force: true })).body.error.details).toEqual([
      { path: "body", message: "unknown field: force" },
    ]);
    expect({ view: await current(), rows: await secretRows() }).toEqual(before);
  });

  it("signs with both secrets, newest first, during the grace period", async () => {
    const jobId = world.rendley.addJob({ steps: ["queued", "completed"] });
    const watch = await world.watch({ job_id: jobId });
    watchId = watch.id;
    const done = await world.waitForWatch(watch.id, (w) => w.status === "delivered");
    deliveryId = done.deliveries[0].id;
    // The worker now holds the bootstrap secret in its cache.
    const first = world.receiver.byWebhookId(deliveryId)[0]!;
    expect(signatures(first)).toEqual([signatureOf(first, TEST_SECRET)]);

    const startedAt = Date.now();
    const res = await rotate({ grace_period_s: 60 });
    const endedAt = Date.now();
    expect(res.status).toBe(201);
    const { secret, previous_expires_at } = res.body.data;
    expect(res.body).toEqual({ data: { secret: expect.stringMatching(SECRET), previous_expires_at: expect.any(String) } });
    expect(secret).not.toBe(TEST_SECRET);
    expect(Date.parse(previous_expires_at)).toBeGreaterThanOrEqual(startedAt + 60_000);
    expect(Date.parse(previous_expires_at)).toBeLessThanOrEqual(endedAt + 60_000);
    expect(await current()).toEqual({ secret, previous_expires_at });

    const both = await callbackWithSignatures(2);
    expect(signatures(both)).toEqual([signatureOf(both, secret), signatureOf(both, TEST_SECRET)]);
    expect(both.verified).toBe(true);
    expect(verifies(both, secret)).toBe(true);
    expect(verifies(both, TEST_SECRET)).toBe(true);

    // Receivers that know only one of the two both accept.
    world.receiver.setSecrets(TEST_SECRET);
    const oldOnly = await sendAgain();
    expect(signatures(oldOnly)).toHaveLength(2);
    expect(oldOnly).toMatchObject({ verified: true, status: 200 });
    world.receiver.setSecrets(secret);
    const newOnly = await sendAgain();
    expect(signatures(newOnly)).toHaveLength(2);
    expect(newOnly).toMatchObject({ verified: true, status: 200 });
  });

  it("signs with the newest secret only once the grace period is over", async () => {
    const middle = (await current()).secret;
    const startedAt = Date.now();
    const res = await rotate({ grace_period_s: 1 });
    expect(res.status).toBe(201);
    const newest: string = res.body.data.secret;
    expect(newest).toMatch(SECRET);
    expect(new Set([newest, middle, TEST_SECRET]).size).toBe(3);
    // Both earlier secrets now stop within the second (the bootstrap one would otherwise have had 60 s).
    expect(Date.parse(res.body.data.previous_expires_at) - startedAt).toBeLessThanOrEqual(1_000 + (Date.now() - startedAt));
    const rows = await secretRows();
    expect(rows.map((r) => r.expires_at === null)).toEqual([false, false, true]);

    const single = await callbackWithSignatures(1);
    expect(signatures(single)).toEqual([signatureOf(single, newest)]);
    expect(verifies(single, newest)).toBe(true);
    expect(verifies(single, middle)).toBe(false);
    expect(verifies(single, TEST_SECRET)).toBe(false);

    world.receiver.setSecrets(middle, TEST_SECRET);
    const stale = await sendAgain();
    expect(stale.verified).toBe(false);
    expect(stale.verifyError).toBeTruthy();
    world.receiver.setSecrets(newest);
    expect((await sendAgain()).verified).toBe(true);

    expect(await current()).toEqual({ secret: newest, previous_expires_at: null });
  });

  it("treats a missing or empty body as all defaults (one day), and accepts the bounds", async () => {
    const expectGrace = async (res: { status: number; body: any }, graceS: number, startedAt: number) => {
      expect(res.status).toBe(201);
      expect(res.body.data.secret).toMatch(SECRET);
      if (graceS === 0) return expect(res.body.data.previous_expires_at).toBeNull();
      const delta = Date.parse(res.body.data.previous_expires_at) - startedAt;
      expect(delta).toBeGreaterThanOrEqual(graceS * 1000);
      expect(delta).toBeLessThanOrEqual(graceS * 1000 + (Date.now() - startedAt));
    };
    // Each case starts from a single secret, so previous_expires_at is this rotation's.
    const cases: Array<[string, RequestInit & { json?: unknown }, number]> = [
      ["no body", {}, 86_400],
      ["an empty JSON body", { body: "", headers: { "content-type": "application/json" } }, 86_400],
      ["whitespace as JSON", { body: " \n", headers: { "content-type": "application/json; charset=utf-8" } }, 86_400],
      ["{}", { json: {} }, 86_400],
      ["the maximum", { json: { grace_period_s: 604_800 } }, 604_800],
      ["zero", { json: { grace_period_s: 0 } }, 0],
    ];
    for (const [, init, graceS] of cases) {
      expect((await rotate({ grace_period_s: 0 })).status).toBe(201);
      const startedAt = Date.now();
      await expectGrace(await world.api("/v1/signing-secret/rotate", { method: "POST", ...init }), graceS, startedAt);
    }
  });

  it("never logs a rotated secret, and documents the route", async () => {
    const text = world.logs.join("\n");
    const rotated = (await secretRows()).map((r) => r.secret).filter((s) => s !== TEST_SECRET);
    expect(rotated.length).toBeGreaterThan(5);
    for (const secret of rotated) {
      expect(text.includes(secret)).toBe(false);
      expect(text.includes(secret.slice("whsec_".length))).toBe(false);
    }
    expect(text).toContain("signing secret rotated");

    const doc = (await (await fetch(`${world.relay.url}/openapi.json`)).json()) as any;
    const op = doc.paths["/v1/signing-secret/rotate"].post;
    expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(op.requestBody.required).toBe(false);
    expect(Object.keys(op.responses).sort()).toEqual(["201", "400", "401", "403", "413", "415", "429", "503"]);
    expect(doc.components.schemas.RotateSigningSecret.properties.grace_period_s).toMatchObject({
      type: "integer",
      minimum: 0,
      maximum: 604_800,
      default: 86_400,
    });
    expect(doc.components.schemas.SigningSecret.required).toEqual(["secret", "previous_expires_at"]);
  });
});
