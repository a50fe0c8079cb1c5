import { sql } from "drizzle-orm";
import { sha256Hex } from "../../lib/hash.js";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { Database, Executor } from "../client.js";
import { toDate, ts } from "../sql-values.js";

/** A fresh relay API key: `rrk_` + 32 random bytes, base64url. */
export function generateApiKey(random: Random): string {
  return `rrk_${random.bytes(32).toString("base64url")}`;
}

/** What identifies a key in lists without revealing it: its first 8 characters. */
export const keyPrefix = (key: string) => `${key.slice(0, 8)}…`;

/** A relay API key as stored: never the key itself, only its hash and prefix. */
export interface ApiKeyRecord {
  id: string;
  prefix: string | null;
  label: string | null;
  source: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A newly created key: the only time `key` itself is ever at hand. */
export interface CreatedApiKey extends ApiKeyRecord {
  key: string;
}

/** Stores a key as its SHA-256 hash (with its prefix and label). */
export async function insertApiKey(
  db: Database,
  executor: Executor,
  options: {
    tenantId: string;
    key: string;
    source: "env" | "generated" | "admin";
    label?: string | null;
    random: Random;
    now: Date;
  },
): Promise<ApiKeyRecord> {
  const id = newId("key", options.random, options.now.getTime());
  await db.rows(
    sql`insert into api_keys (id, tenant_id, key_hash, prefix, label, source, created_at)
        values (${id}, ${options.tenantId}, ${sha256Hex(options.key)}, ${keyPrefix(options.key)}, ${options.label ?? null},
                ${options.source}, ${ts(options.now)})`,
    executor,
  );
  return {
    id,
    prefix: keyPrefix(options.key),
    label: options.label ?? null,
    source: options.source,
    createdAt: options.now,
    revokedAt: null,
  };
}

/** Creates another key for a tenant (several can be active at once, so clients rotate without downtime). */
export async function createApiKey(
  db: Database,
  options: { tenantId: string; label?: string | null; random: Random; now: Date },
): Promise<CreatedApiKey> {
  const key = generateApiKey(options.random);
  const stored = await insertApiKey(db, db.orm, { ...options, key, source: "admin" });
  return { ...stored, key };
}

function toRecord(r: Record<string, unknown>): ApiKeyRecord {
  return {
    id: r.id as string,
    prefix: r.prefix as string | null,
    label: r.label as string | null,
    source: r.source as string,
    createdAt: toDate(r.created_at as Date | string)!,
    revokedAt: toDate(r.revoked_at as Date | string | null),
  };
}

export async function listApiKeys(db: Database, tenantId: string): Promise<ApiKeyRecord[]> {
  const rows = await db.rows<Record<string, unknown>>(
    sql`select id, prefix, label, source, created_at, revoked_at from api_keys where tenant_id = ${tenantId}
        order by created_at desc, id desc`,
  );
  return rows.map(toRecord);
}

/** Revokes one key of a tenant: it stops working at once in this process, within 30 s in others. */
export async function revokeApiKey(db: Database, tenantId: string, keyId: string, now: Date): Promise<ApiKeyRecord | undefined> {
  const [row] = await db.rows<Record<string, unknown>>(
    sql`update api_keys set revoked_at = coalesce(revoked_at, ${ts(now)})
        where tenant_id = ${tenantId} and id = ${keyId}
        returning id, prefix, label, source, created_at, revoked_at`,
  );
  return row ? toRecord(row) : undefined;
}
