import { sql } from "drizzle-orm";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.js";
import { bootstrapDefaultTenant } from "../../src/db/queries/bootstrap-tenant.js";
import { createWatch } from "../../src/db/queries/create-watch.js";
import { findTenantByKeyHash } from "../../src/db/queries/find-tenant-by-api-key.js";
import { sha256Hex } from "../../src/lib/hash.js";
import { listWatchIds } from "../../src/db/queries/list-watches.js";
import { activeSigningSecrets } from "../../src/db/queries/signing-secrets.js";
import { lockDataDir } from "../../src/db/data-dir-lock.js";
import { createStorageFixture, type StorageFixture } from "../support/storage.js";
import { DRIVERS } from "../support/test-db.js";

describe.each(DRIVERS)("tenant bootstrap and watches on %s", (driver) => {
  let f: StorageFixture;
  beforeEach(async () => {
    f = await createStorageFixture(driver);
  });
  afterEach(async () => {
    await f?.close();
  });

  it("stores API keys only as hashes; a generated key works, a removed env key stops working", async () => {
    expect((await findTenantByKeyHash(f.db, sha256Hex("rrk_test_key_0123456789abcdef")))?.tenantId).toBe(f.tenantId);
    const boot = await bootstrapDefaultTenant(f.db, {
      relayApiKey: undefined,
      signingSecret: undefined,
      random: f.random,
      now: f.clock.now(),
    });
    expect(boot.generatedApiKey).toMatch(/^rrk_[A-Za-z0-9_-]{43}$/);
    expect((await findTenantByKeyHash(f.db, sha256Hex(boot.generatedApiKey!)))?.tenantId).toBe(f.tenantId);
    expect((await findTenantByKeyHash(f.db, sha256Hex("rrk_test_key_0123456789abcdef")))?.tenantId).toBeUndefined();
    const stored = await f.rows<{ key_hash: string }>(sql`select key_hash from api_keys`);
    expect(stored.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash))).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(boot.generatedApiKey);
    // Restarting without RELAY_API_KEY does not generate another.
    expect(
      await bootstrapDefaultTenant(f.db, {
        relayApiKey: undefined,
        signingSecret: undefined,
        random: f.random,
        now: f.clock.now(),
      }),
    ).toEqual({
      generatedSigningSecret: false,
      envSecretIgnored: false,
    });
  });

  it("keeps the signing secret across starts and switches to a new one from the environment", async () => {
    const [before] = await activeSigningSecrets(f.db, f.tenantId, f.clock.now());
    await bootstrapDefaultTenant(f.db, {
      relayApiKey: undefined,
      signingSecret: undefined,
      random: f.random,
      now: f.clock.now(),
    });
    expect(await activeSigningSecrets(f.db, f.tenantId, f.clock.now())).toEqual([before]);
    const next = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
    f.clock.advance(1);
    await bootstrapDefaultTenant(f.db, { relayApiKey: undefined, signingSecret: next, random: f.random, now: f.clock.now() });
    expect(await activeSigningSecrets(f.db, f.tenantId, f.clock.now())).toEqual([next]);
  });

  it("creates a watch once per idempotency key, even when the same request races itself", async () => {
    const input = {
      tenantId: f.tenantId,
      jobId: "job_a",
      callbackUrl: "https://r.example/h",
      events: ["job.completed"] as const,
      metadata: null,
      idempotencyKey: "key-1",
      requestHash: "h1",
    };
    const ctx = { now: f.clock.now(), random: f.random, pollMinIntervalMs: 1000 };
    const results = await Promise.all([
      createWatch(f.db, input, ctx),
      createWatch(f.db, input, ctx),
      createWatch(f.db, input, ctx),
    ]);
    expect(new Set(results.map((r) => r.watchId)).size).toBe(1);
    expect(results.map((r) => r.kind).sort()).toEqual(["created", "repeat", "repeat"]);
    expect(await createWatch(f.db, { ...input, requestHash: "h2" }, ctx)).toEqual({
      kind: "conflict",
      watchId: results[0]!.watchId,
    });
    expect(await f.rows(sql`select count(*)::int as n from watches`)).toEqual([{ n: 1 }]);
  });

  it("pages by (created_at, id) without overlap, even for watches created in the same millisecond", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(await f.watch(`job_${i % 3}`));
      if (i % 4 === 0) f.clock.advance(1); // several share a timestamp
    }
    const seen: string[] = [];
    let after;
    for (;;) {
      const page: Awaited<ReturnType<typeof listWatchIds>> = await listWatchIds(f.db, { tenantId: f.tenantId, limit: 4, after });
      seen.push(...page.ids);
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
    const byJob = await listWatchIds(f.db, { tenantId: f.tenantId, jobId: "job_1", limit: 50 });
    expect(byJob.ids).toHaveLength(3);
    expect(byJob.next).toBeNull();
    expect((await listWatchIds(f.db, { tenantId: "ten_other", limit: 50 })).ids).toEqual([]);
  });
});

describe("the PGlite data directory lock", () => {
  it("refuses a second open and takes over a lock whose process is gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-lock-"));
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(/already open in this process/);
    release();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "relay.lock"), "999999999"); // no such process
    const again = lockDataDir(dir);
    again();
  });

  it("is held by an open PGlite database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-lock-"));
    const { pgliteTemplate } = await import("../support/test-db.js");
    const db = await createDb({ dataDir: dir, loadDataDir: pgliteTemplate() });
    try {
      await expect(createDb({ dataDir: dir })).rejects.toThrow(/RELAY_DATA_DIR/);
      expect(await db.rows(sql`select 1 as one`)).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    const reopened = await createDb({ dataDir: dir });
    await reopened.close();
  });
});
