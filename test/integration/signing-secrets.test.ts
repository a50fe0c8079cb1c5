import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bootstrapDefaultTenant } from "../../src/db/queries/bootstrap-tenant.js";
import { rotateSigningSecret } from "../../src/db/queries/rotate-signing-secret.js";
import { activeSigningSecrets, currentSigningSecret } from "../../src/db/queries/signing-secrets.js";
import { TEST_API_KEY, TEST_SECRET } from "../support/relay-harness.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

const SECOND = 1000;
const DAY = 86_400 * SECOND;

describe.each(DRIVERS)("signing secret rotation on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
    f.clock.advance(SECOND); // the bootstrap secret is older than any rotation's
  });
  afterEach(async () => {
    await f?.close();
  });

  const rotate = async (graceMs: number) => {
    const rotated = await rotateSigningSecret(f.db, { tenantId: f.tenantId, graceMs, now: f.clock.now(), random: f.random });
    if (rotated.kind !== "rotated") throw new Error(`rotation answered ${rotated.kind}`);
    return rotated.state;
  };
  const active = (at: Date = f.clock.now()) => activeSigningSecrets(f.db, f.tenantId, at);
  const boot = (signingSecret: string | undefined) =>
    bootstrapDefaultTenant(f.db, { relayApiKey: TEST_API_KEY, signingSecret, random: f.random, now: f.clock.now() });
  const rows = () =>
    f.rows<{ secret: string; source: string; expires_at: Date | string | null }>(
      sql`select secret, source, expires_at from signing_secrets order by created_at, expires_at nulls last`,
    );
  const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

  it("makes a new secret current and keeps the old one signing until the grace ends, exact to the millisecond", async () => {
    const rotatedAt = f.clock.now();
    const state = await rotate(60 * SECOND);
    const expiry = new Date(rotatedAt.getTime() + 60 * SECOND);
    expect(state.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(state.secret.slice("whsec_".length), "base64")).toHaveLength(32);
    expect(state.secret).not.toBe(TEST_SECRET);
    expect(state.previousExpiresAt).toEqual(expiry);
    expect((await rows()).map((r) => [r.secret, r.source, iso(r.expires_at)])).toEqual([
      [TEST_SECRET, "env", expiry.toISOString()],
      [state.secret, "rotated", null],
    ]);

    f.clock.set(expiry.getTime() - 1);
    expect(await active()).toEqual([state.secret, TEST_SECRET]);
    expect(await currentSigningSecret(f.db, f.tenantId, f.clock.now())).toEqual({
      secret: state.secret,
      previousExpiresAt: expiry,
    });
    f.clock.set(expiry);
    expect(await active()).toEqual([state.secret]);
    expect(await currentSigningSecret(f.db, f.tenantId, f.clock.now())).toEqual({
      secret: state.secret,
      previousExpiresAt: null,
    });
  });

  it("keeps every unexpired secret signing until its own expiry across rotations in a row; the earlier expiry wins", async () => {
    const t0 = f.clock.now().getTime();
    const b = await rotate(100 * SECOND); // TEST_SECRET: until t0+100s
    f.clock.advance(10 * SECOND);
    const c = await rotate(1000 * SECOND); // b: until t0+1010s; TEST_SECRET keeps t0+100s (the earlier)
    expect(c.previousExpiresAt).toEqual(new Date(t0 + 1010 * SECOND));
    expect(await active()).toEqual([c.secret, b.secret, TEST_SECRET]);
    f.clock.advance(10 * SECOND);
    const d = await rotate(30 * SECOND); // c, b and TEST_SECRET: all until t0+50s
    expect(await active()).toEqual([d.secret, c.secret, b.secret, TEST_SECRET]);
    expect((await rows()).map((r) => iso(r.expires_at))).toEqual([
      new Date(t0 + 50 * SECOND).toISOString(),
      new Date(t0 + 50 * SECOND).toISOString(),
      new Date(t0 + 50 * SECOND).toISOString(),
      null,
    ]);
    expect(await active(new Date(t0 + 50 * SECOND - 1))).toHaveLength(4);
    expect(await active(new Date(t0 + 50 * SECOND))).toEqual([d.secret]);

    // Graces that do not overlap the new one: each previous secret stops at its own time.
    f.clock.set(t0 + 100 * SECOND);
    const e = await rotate(100 * SECOND); // d: until t0+200s
    f.clock.set(t0 + 150 * SECOND);
    const last = await rotate(100 * SECOND); // e: until t0+250s; d keeps t0+200s
    expect(last.previousExpiresAt).toEqual(new Date(t0 + 250 * SECOND));
    expect(await active()).toEqual([last.secret, e.secret, d.secret]);
    expect(await active(new Date(t0 + 200 * SECOND - 1))).toEqual([last.secret, e.secret, d.secret]);
    expect(await active(new Date(t0 + 200 * SECOND))).toEqual([last.secret, e.secret]);
    expect(await currentSigningSecret(f.db, f.tenantId, new Date(t0 + 200 * SECOND))).toEqual({
      secret: last.secret,
      previousExpiresAt: new Date(t0 + 250 * SECOND),
    });
    expect(await active(new Date(t0 + 250 * SECOND))).toEqual([last.secret]);
  });

  it("retires every previous secret at once with a grace period of 0", async () => {
    const b = await rotate(DAY);
    f.clock.advance(1);
    const c = await rotate(0);
    expect(c.previousExpiresAt).toBeNull();
    expect(await active()).toEqual([c.secret]);
    expect(await currentSigningSecret(f.db, f.tenantId, f.clock.now())).toEqual({ secret: c.secret, previousExpiresAt: null });
    // Both had been signing until that very millisecond.
    expect(await active(new Date(f.clock.now().getTime() - 1))).toEqual([c.secret, b.secret, TEST_SECRET]);
  });

  it("puts the current secret first even when rotations happen in the same instant", async () => {
    const b = await rotate(DAY);
    const c = await rotate(DAY);
    const d = await rotate(DAY);
    const signing = await active();
    expect(signing[0]).toBe(d.secret);
    expect(new Set(signing)).toEqual(new Set([TEST_SECRET, b.secret, c.secret, d.secret]));
  });

  it("leaves exactly one current secret after concurrent rotations", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => rotate(DAY)));
    expect(new Set(results.map((r) => r.secret)).size).toBe(8);
    const current = await f.rows<{ secret: string }>(sql`select secret from signing_secrets where expires_at is null`);
    expect(current).toHaveLength(1);
    expect(results.map((r) => r.secret)).toContain(current[0]!.secret);
    const signing = await active();
    expect(signing).toHaveLength(9);
    expect(signing[0]).toBe(current[0]!.secret);
    expect((await currentSigningSecret(f.db, f.tenantId, f.clock.now()))?.secret).toBe(current[0]!.secret);
  });

  describe("RELAY_SIGNING_SECRET at restart", () => {
    it("does not bring back the old env secret after an API rotation, in the grace period or after it", async () => {
      const rotated = await rotate(60 * SECOND);
      const before = await rows();
      f.clock.advance(SECOND);
      expect(await boot(TEST_SECRET)).toEqual({ generatedSigningSecret: false, envSecretIgnored: true });
      expect(await rows()).toEqual(before); // the old secret keeps its grace period, nothing else changes
      expect(await active()).toEqual([rotated.secret, TEST_SECRET]);

      f.clock.advance(DAY);
      expect(await boot(TEST_SECRET)).toEqual({ generatedSigningSecret: false, envSecretIgnored: true });
      expect(await active()).toEqual([rotated.secret]);
    });

    it("changes nothing when the env secret is the current one or unset", async () => {
      const rotated = await rotate(60 * SECOND);
      const before = await rows();
      expect(await boot(rotated.secret)).toEqual({ generatedSigningSecret: false, envSecretIgnored: false });
      expect(await boot(undefined)).toEqual({ generatedSigningSecret: false, envSecretIgnored: false });
      expect(await rows()).toEqual(before);
    });

    it("makes a never-seen env secret current and retires every other secret at once", async () => {
      const b = await rotate(DAY);
      f.clock.advance(SECOND);
      await rotate(DAY);
      f.clock.advance(SECOND);
      const fresh = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
      expect(await boot(fresh)).toEqual({ generatedSigningSecret: false, envSecretIgnored: false });
      expect(await active()).toEqual([fresh]);
      expect(await currentSigningSecret(f.db, f.tenantId, f.clock.now())).toEqual({ secret: fresh, previousExpiresAt: null });
      expect((await rows()).filter((r) => r.expires_at === null).map((r) => r.source)).toEqual(["env"]);
      // The next start with the same variable is a no-op; the one after a rotation keeps the rotated secret.
      expect(await boot(fresh)).toEqual({ generatedSigningSecret: false, envSecretIgnored: false });
      const again = await rotate(DAY);
      expect(await boot(fresh)).toEqual({ generatedSigningSecret: false, envSecretIgnored: true });
      expect(await boot(b.secret)).toEqual({ generatedSigningSecret: false, envSecretIgnored: true });
      expect((await active())[0]).toBe(again.secret);
    });
  });
});
