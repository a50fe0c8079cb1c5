import { createHmac } from "node:crypto";
import type { DashboardKey } from "../../db/queries/dashboard-sessions.js";
import { safeEqual } from "../../lib/hash.js";
import type { ApiEnv } from "../auth.js";

/** The dashboard's request variables: the tenant of the session, plus the session's anti-forgery token. */
export type DashboardEnv = { Variables: ApiEnv["Variables"] & { csrf: string } };

/** The session cookie: `v1.<tenant id>.<key id>.<expiry ms>.<mac>`, never the API key itself. */
export const SESSION_COOKIE = "rr_session";
/** Pre-login cookie holding the login form's anti-forgery nonce (double submit). */
export const LOGIN_COOKIE = "rr_login";
/** A dashboard session lasts this long, then the key is asked for again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** A session token's parts, as read from the cookie (not yet verified). */
export interface SessionClaims {
  tenantId: string;
  keyId: string;
  expiresAtMs: number;
  token: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The MAC key of one API key's sessions: derived from the key's stored hash (so sessions of a revoked key
 * cannot be checked, and any relay process can check them without shared memory) and from the server
 * secret when there is one (RELAY_ENCRYPTION_KEY), so the database alone does not forge sessions.
 */
function macKey(key: Pick<DashboardKey, "keyHash">, serverSecret: Buffer | undefined): Buffer {
  return createHmac("sha256", serverSecret ?? Buffer.from("rendley-relay"))
    .update(`dashboard-session-v1\0${key.keyHash}`)
    .digest();
}

const mac = (keyMaterial: Buffer, message: string) => createHmac("sha256", keyMaterial).update(message).digest("base64url");

/** A signed session for this key, valid for SESSION_TTL_MS from `now`. */
export function issueSession(key: DashboardKey, now: Date, serverSecret?: Buffer): string {
  const payload = `v1.${key.tenantId}.${key.keyId}.${now.getTime() + SESSION_TTL_MS}`;
  return `${payload}.${mac(macKey(key, serverSecret), payload)}`;
}

/** Reads a cookie value's claims; undefined when it is not shaped like a session. The MAC is checked by verifySession. */
export function readSession(token: string | undefined): SessionClaims | undefined {
  if (!token || token.length > 512) return undefined;
  const parts = token.split(".");
  if (parts.length !== 5 || parts[0] !== "v1") return undefined;
  const [, tenantId = "", keyId = "", expiry = ""] = parts;
  if (!ID.test(tenantId) || !ID.test(keyId) || !/^\d{1,15}$/.test(expiry)) return undefined;
  return { tenantId, keyId, expiresAtMs: Number(expiry), token };
}

/** True when the session was issued for this (still live) key and has not expired. */
export function verifySession(claims: SessionClaims, key: DashboardKey, now: Date, serverSecret?: Buffer): boolean {
  if (claims.tenantId !== key.tenantId || claims.keyId !== key.keyId || claims.expiresAtMs <= now.getTime()) return false;
  const payload = claims.token.slice(0, claims.token.lastIndexOf("."));
  const given = claims.token.slice(claims.token.lastIndexOf(".") + 1);
  return safeEqual(given, mac(macKey(key, serverSecret), payload));
}

/** The anti-forgery token of a session's forms: bound to the session, unguessable without the MAC key. */
export function csrfTokenFor(claims: SessionClaims, key: DashboardKey, serverSecret?: Buffer): string {
  return mac(macKey(key, serverSecret), `csrf.${claims.token}`);
}
