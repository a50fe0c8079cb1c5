import { sql } from "drizzle-orm";
import type { TenantStatus } from "../../domain/tenant.js";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { Database } from "../client.js";
import { toDate, ts } from "../sql-values.js";
import { generateApiKey, insertApiKey, type CreatedApiKey } from "./api-keys.js";
import { generateSigningSecret } from "./bootstrap-tenant.js";

/** A tenant as stored, without its Rendley key: only whether one is set. */
export interface TenantRecord {
  id: string;
  name: string;
  status: TenantStatus;
  rendleyKeySet: boolean;
  rendleyKeyUpdatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  disabledAt: Date | null;
}

const COLUMNS = sql.raw(
  "id, name, status, rendley_key_ciphertext is not null as rendley_key_set, rendley_key_updated_at, created_at, updated_at, disabled_at",
);
const date = (v: unknown) => toDate(v as Date | string | null);

function toRecord(r: Record<string, unknown>): TenantRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    status: r.status as TenantStatus,
    rendleyKeySet: r.rendley_key_set as boolean,
    rendleyKeyUpdatedAt: date(r.rendley_key_updated_at),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
    disabledAt: date(r.disabled_at),
  };
}

/** A new tenant's id (the AAD its Rendley key is encrypted under, so it is chosen before the tenant is stored). */
export const newTenantId = (random: Random, now: Date) => newId("ten", random, now.getTime());

/**
 * Creates a tenant with its first API key (returned once) and its own signing secret; its Rendley key,
 * when given, is stored as the caller encrypted it (AAD: the tenant id).
 */
export async function createTenant(
  db: Database,
  options: { id: string; name: string; rendleyKeyCiphertext: string | null; random: Random; now: Date },
): Promise<{ tenant: TenantRecord; apiKey: CreatedApiKey }> {
  const { id, random, now } = options;
  const ciphertext = options.rendleyKeyCiphertext;
  return db.orm.transaction(async (tx) => {
    const [row] = await db.rows<Record<string, unknown>>(
      sql`insert into tenants (id, name, status, rendley_key_ciphertext, rendley_key_updated_at, created_at, updated_at)
          values (${id}, ${options.name}, 'active', ${ciphertext}, ${ciphertext ? ts(now) : null}, ${ts(now)}, ${ts(now)})
          returning ${COLUMNS}`,
      tx,
    );
    const key = generateApiKey(random);
    const stored = await insertApiKey(db, tx, { tenantId: id, key, source: "admin", label: "initial", random, now });
    await db.rows(
      sql`insert into signing_secrets (id, tenant_id, secret, source, created_at)
          values (${newId("sec", random, now.getTime())}, ${id}, ${generateSigningSecret(random)}, 'generated', ${ts(now)})`,
      tx,
    );
    return { tenant: toRecord(row!), apiKey: { ...stored, key } };
  });
}

export async function listTenants(db: Database): Promise<TenantRecord[]> {
  const rows = await db.rows<Record<string, unknown>>(sql`select ${COLUMNS} from tenants order by created_at, id limit 10000`);
  return rows.map(toRecord);
}

export async function getTenant(db: Database, id: string): Promise<TenantRecord | undefined> {
  const [row] = await db.rows<Record<string, unknown>>(sql`select ${COLUMNS} from tenants where id = ${id}`);
  return row ? toRecord(row) : undefined;
}

/** Disables (API keys refused with 403; registered watches keep being polled and delivered) or enables a tenant. */
export async function setTenantStatus(
  db: Database,
  id: string,
  status: TenantStatus,
  now: Date,
): Promise<TenantRecord | undefined> {
  const [row] = await db.rows<Record<string, unknown>>(
    sql`update tenants
        set status = ${status}, updated_at = ${ts(now)},
            disabled_at = case when ${status} = 'disabled' then coalesce(disabled_at, ${ts(now)}) else null end
        where id = ${id}
        returning ${COLUMNS}`,
  );
  return row ? toRecord(row) : undefined;
}

/** Stores a tenant's Rendley key as the caller encrypted it (AES-256-GCM, AAD: the tenant id). */
export async function setTenantRendleyKey(
  db: Database,
  options: { id: string; rendleyKeyCiphertext: string; now: Date },
): Promise<TenantRecord | undefined> {
  const [row] = await db.rows<Record<string, unknown>>(
    sql`update tenants
        set rendley_key_ciphertext = ${options.rendleyKeyCiphertext},
            rendley_key_updated_at = ${ts(options.now)}, updated_at = ${ts(options.now)}
        where id = ${options.id}
        returning ${COLUMNS}`,
  );
  return row ? toRecord(row) : undefined;
}
