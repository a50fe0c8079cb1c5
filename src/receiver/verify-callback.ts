import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { CallbackVerificationError } from "./callback-verification-error.js";
import { isRelayEvent, type RelayEvent } from "./relay-event.js";

/** Fetch `Headers`, Node's `IncomingHttpHeaders` (values may be arrays), or a plain object. */
export type CallbackHeaders =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

/** One `whsec_…` secret, or several while a rotation's grace period runs (any one may match). */
export type CallbackSecrets = string | readonly string[];

/** A raw body as received: the exact bytes, or their UTF-8 text. Never re-serialised JSON. */
export type RawBody = string | Uint8Array | ArrayBuffer;

const HEADER_NAMES = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;
type WebhookHeaders = Record<(typeof HEADER_NAMES)[number], string>;

const SECRET_HINT = "expected `whsec_` followed by the base64 of 24 to 64 bytes (the value of GET /v1/signing-secret)";
const verifiers = new Map<string, Webhook>();

/**
 * A verifier per secret, after checking the secret: standardwebhooks would silently accept `"mysecret"`
 * as a 6-byte key, and every callback would then fail as `bad_signature`, far from the real mistake.
 */
function verifierFor(secret: string): Webhook {
  const cached = verifiers.get(secret);
  if (cached) return cached;
  if (typeof secret !== "string")
    throw new CallbackVerificationError("invalid_secret", `the secret is not a string; ${SECRET_HINT}`);
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new CallbackVerificationError("invalid_secret", `the secret is not valid base64; ${SECRET_HINT}`);
  }
  const bytes = (b64.length / 4) * 3 - (b64.match(/=*$/)?.[0].length ?? 0); // no Buffer: Workers, Deno, Bun too
  if (bytes < 24 || bytes > 64)
    throw new CallbackVerificationError("invalid_secret", `the secret decodes to ${bytes} bytes; ${SECRET_HINT}`);
  const webhook = new Webhook(b64);
  if (verifiers.size > 100) verifiers.clear(); // a receiver has a handful of secrets; stay bounded anyway
  verifiers.set(secret, webhook);
  return webhook;
}

/** Checks the secrets up front (factories call this at construction, so a bad secret fails at start). */
export function verifiersFor(secrets: CallbackSecrets): Webhook[] {
  const list = typeof secrets === "string" ? [secrets] : [...secrets];
  if (list.length === 0) throw new CallbackVerificationError("invalid_secret", `no secret given; ${SECRET_HINT}`);
  return list.map(verifierFor);
}

function headerValue(headers: CallbackHeaders, name: string): string | readonly string[] | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  if (record[name] !== undefined) return record[name];
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/** The three webhook headers as one plain object, the shape standardwebhooks' verify() needs. */
function webhookHeaders(headers: CallbackHeaders): WebhookHeaders {
  const out: Partial<WebhookHeaders> = {};
  const missing: string[] = [];
  for (const name of HEADER_NAMES) {
    let value = headerValue(headers, name);
    if (Array.isArray(value)) {
      // Several signature lines carry several signatures; several ids or timestamps are ambiguous.
      if (name === "webhook-signature") value = value.join(" ");
      else if (value.length === 1) value = value[0];
      else throw new CallbackVerificationError("invalid_headers", `${name} is repeated`);
    }
    if (typeof value !== "string" || value.trim() === "") missing.push(name);
    else out[name] = value.trim();
  }
  if (missing.length > 0) throw new CallbackVerificationError("missing_headers", `missing ${missing.join(", ")}`);
  if (!/^\d{1,12}$/.test(out["webhook-timestamp"]!)) {
    throw new CallbackVerificationError("invalid_headers", "webhook-timestamp is not unix seconds");
  }
  return out as WebhookHeaders;
}

function bodyText(rawBody: RawBody): string {
  if (typeof rawBody === "string") return rawBody;
  if (rawBody instanceof ArrayBuffer || rawBody instanceof Uint8Array) return new TextDecoder().decode(rawBody);
  throw new CallbackVerificationError(
    "body_already_parsed",
    "the body must be the raw request body (a string or bytes), not parsed JSON: verify before parsing",
  );
}

/** Maps standardwebhooks' messages to codes; anything else is not a verification outcome and is rethrown. */
function codeOf(err: unknown) {
  if (!(err instanceof WebhookVerificationError)) throw err;
  if (err.message.includes("too old")) return "timestamp_too_old" as const;
  if (err.message.includes("too new")) return "timestamp_too_new" as const;
  if (err.message.includes("Missing")) return "missing_headers" as const;
  if (err.message.includes("Invalid")) return "invalid_headers" as const;
  return "bad_signature" as const;
}

const MESSAGES = {
  timestamp_too_old: "webhook-timestamp is more than 5 minutes old",
  timestamp_too_new: "webhook-timestamp is more than 5 minutes in the future",
  missing_headers: "missing webhook headers",
  invalid_headers: "malformed webhook headers",
  bad_signature: "no signature matches the body",
} as const;

/**
 * Verifies a relay callback (Standard Webhooks) and returns its event.
 *
 * @param rawBody the request body exactly as received: verify BEFORE parsing (re-serialised JSON does not verify)
 * @param headers Fetch `Headers`, Node's `req.headers`, or a plain object
 * @param secrets the `whsec_…` signing secret, or several during a rotation (the event verifies if any matches)
 * @throws CallbackVerificationError with a `code`: missing_headers, invalid_headers, timestamp_too_old,
 *   timestamp_too_new, bad_signature, invalid_body, invalid_secret, body_already_parsed
 * @example
 * const event = verifyCallback(await request.text(), request.headers, signingSecret);
 * if (event.type === "job.completed") console.log(event.data.result);
 */
export function verifyCallback(rawBody: RawBody, headers: CallbackHeaders, secrets: CallbackSecrets): RelayEvent {
  const webhooks = verifiersFor(secrets);
  const body = bodyText(rawBody);
  const plainHeaders = webhookHeaders(headers);
  let verified = false;
  for (const webhook of webhooks) {
    try {
      webhook.verify(body, plainHeaders, { jsonParse: false });
      verified = true;
      break;
    } catch (err) {
      const code = codeOf(err);
      // A timestamp outside the window is refused whatever the secret; only a mismatch tries the next secret.
      if (code !== "bad_signature") throw new CallbackVerificationError(code, MESSAGES[code], { cause: err });
    }
  }
  if (!verified) throw new CallbackVerificationError("bad_signature", MESSAGES.bad_signature);
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch (err) {
    throw new CallbackVerificationError("invalid_body", "the body is not JSON", { cause: err });
  }
  if (!isRelayEvent(event)) throw new CallbackVerificationError("invalid_body", "the body is not a relay event");
  return event;
}
