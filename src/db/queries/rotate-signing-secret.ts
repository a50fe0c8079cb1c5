import { sql } from "drizzle-orm";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { Database } from "../client.js";
import { ts } from "../sql-values.js";
import { generateSigningSecret } from "./bootstrap-tenant.js";
import { currentSigningSecret, type SigningSecretState } from "./signing-secrets.js";

/**
 * Makes a freshly generated secret current. Every secret still valid at `now` (the current one, and
 * those left in the grace period of earlier rotations) keeps signing until `now + graceMs`, or its own
 * earlier expiry: a grace of 0 retires them all at once.
 * Runs under a row lock on the tenant, so concurrent rotations take turns and leave one current secret.
 * @returns the state after the rotation (as `GET /v1/signing-secret` shows it), or `not_found` for an unknown tenant
 */
export async function rotateSigningSecret(
  db: Database,
  input: { tenantId: string; graceMs: number; now: Date; random: Random },
): Promise<{ kind: "rotated"; state: SigningSecretState } | { kind: "not_found" }> {
  const { tenantId, now, random } = input;
  const expiresAt = new Date(now.getTime() + input.graceMs);
  return db.orm.transaction(async (tx) => {
    const [tenant] = await db.rows<{ id: string }>(sql`select id from tenants where id = ${tenantId} for update`, tx);
    if (!tenant) return { kind: "not_found" };

    await db.rows(
      sql`update signing_secrets set expires_at = least(coalesce(expires_at, ${ts(expiresAt)}), ${ts(expiresAt)})
          where tenant_id = ${tenantId} and (expires_at is null or expires_at > ${ts(now)})`,
      tx,
    );
    // Never older than a secret it replaces (a clock read before waiting for the lock): "newest first" stays true.
    await db.rows(
      sql`insert into signing_secrets (id, tenant_id, secret, source, created_at)
          values (${newId("sec", random, now.getTime())}, ${tenantId}, ${generateSigningSecret(random)}, 'rotated',
                  greatest(${ts(now)}, (select max(created_at) from signing_secrets where tenant_id = ${tenantId})))`,
      tx,
    );
    const state = await currentSigningSecret(db, tenantId, now, tx);
    if (!state) throw new Error("signing secret rotation left no current secret");
    return { kind: "rotated", state };
  });
}
