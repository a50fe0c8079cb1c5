import { sql } from "drizzle-orm";
import { sha256Hex } from "../../lib/hash.js";
import { newId } from "../../lib/ids.js";
import type { Random } from "../../lib/random.js";
import type { Database } from "../client.js";
import { generateApiKey, insertApiKey } from "./api-keys.js";
import { ts } from "../sql-values.js";
import { DEFAULT_TENANT_ID } from "../../domain/tenant.js";

/** A fresh signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks). */
export function generateSigningSecret(random: Random): string {
  return `whsec_${random.bytes(32).toString("base64")}`;
}

/**
 * Makes sure the default tenant exists with an API key and a signing secret.
 * - RELAY_API_KEY given: its hash is the tenant's `env` key (a previous, different env key is revoked).
 *   Not given: the env key (if any) is revoked, and when no key is left a new one is generated and returned,
 *   to be shown once: only its hash is stored.
 * - RELAY_SIGNING_SECRET given and different from the current secret: it becomes current and every other
 *   secret stops signing at once. But a secret the tenant already had and moved away from (expired, or in
 *   the grace period of an API rotation) is not brought back: the current one stays and `envSecretIgnored`
 *   is set, so the caller can warn that the variable still holds a retired secret.
 *   Not given and none stored: one is generated.
 * Runs under a row lock on the tenant so replicas starting together generate one key, not two.
 */
export async function bootstrapDefaultTenant(
  db: Database,
  options: { relayApiKey: string | undefined; signingSecret: string | undefined; random: Random; now: Date },
): Promise<{ generatedApiKey?: string; generatedSigningSecret: boolean; envSecretIgnored: boolean }> {
  const { random, now } = options;
  return db.orm.transaction(async (tx) => {
    await db.rows(
      sql`insert into tenants (id, name, created_at) values (${DEFAULT_TENANT_ID}, 'default', ${ts(now)}) on conflict (id) do nothing`,
      tx,
    );
    await db.rows(sql`select id from tenants where id = ${DEFAULT_TENANT_ID} for update`, tx);

    let generatedApiKey: string | undefined;
    const envHash = options.relayApiKey ? sha256Hex(options.relayApiKey) : null;
    await db.rows(
      sql`update api_keys set revoked_at = ${ts(now)}
          where tenant_id = ${DEFAULT_TENANT_ID} and source = 'env' and revoked_at is null
            and key_hash is distinct from ${envHash}`,
      tx,
    );
    if (envHash && options.relayApiKey) {
      const [known] = await db.rows<{ id: string }>(
        sql`update api_keys set revoked_at = null where key_hash = ${envHash} and tenant_id = ${DEFAULT_TENANT_ID} returning id`,
        tx,
      );
      if (!known)
        await insertApiKey(db, tx, { tenantId: DEFAULT_TENANT_ID, key: options.relayApiKey, source: "env", random, now });
    } else {
      const active = await db.rows<{ n: number }>(
        sql`select count(*)::int as n from api_keys where tenant_id = ${DEFAULT_TENANT_ID} and revoked_at is null`,
        tx,
      );
      if ((active[0]?.n ?? 0) === 0) {
        generatedApiKey = generateApiKey(random);
        await insertApiKey(db, tx, { tenantId: DEFAULT_TENANT_ID, key: generatedApiKey, source: "generated", random, now });
      }
    }

    const [current] = await db.rows<{ secret: string }>(
      sql`select secret from signing_secrets
          where tenant_id = ${DEFAULT_TENANT_ID} and expires_at is null
          order by created_at desc limit 1`,
      tx,
    );
    const wanted = options.signingSecret;
    let retired = false;
    if (wanted && current && current.secret !== wanted) {
      const [seen] = await db.rows<{ id: string }>(
        sql`select id from signing_secrets where tenant_id = ${DEFAULT_TENANT_ID} and secret = ${wanted} limit 1`,
        tx,
      );
      retired = seen !== undefined;
    }
    let generatedSigningSecret = false;
    if ((wanted && !retired && current?.secret !== wanted) || (!wanted && !current)) {
      generatedSigningSecret = !wanted;
      await db.rows(
        sql`update signing_secrets set expires_at = ${ts(now)}
            where tenant_id = ${DEFAULT_TENANT_ID} and (expires_at is null or expires_at > ${ts(now)})`,
        tx,
      );
      await db.rows(
        sql`insert into signing_secrets (id, tenant_id, secret, source, created_at)
            values (${newId("sec", random, now.getTime())}, ${DEFAULT_TENANT_ID}, ${wanted ?? generateSigningSecret(random)},
                    ${wanted ? "env" : "generated"}, ${ts(now)})`,
        tx,
      );
    }
    const result = { generatedSigningSecret, envSecretIgnored: retired };
    return generatedApiKey ? { generatedApiKey, ...result } : result;
  });
}
