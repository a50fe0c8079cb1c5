import { Webhook } from "standardwebhooks";

const signers = new Map<string, Webhook>();

function signer(secret: string): Webhook {
  let webhook = signers.get(secret);
  if (!webhook) {
    webhook = new Webhook(secret);
    if (signers.size > 1000) signers.clear(); // secrets rotate rarely; keep the cache bounded anyway
    signers.set(secret, webhook);
  }
  return webhook;
}

/**
 * Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one
 * entry per secret, space-separated (several secrets during a rotation's grace period).
 * Built on the `standardwebhooks` reference implementation, so receivers using it verify by construction.
 */
export function signPayload(secrets: readonly string[], webhookId: string, timestampSec: number, body: string): string {
  const at = new Date(timestampSec * 1000);
  return secrets.map((secret) => signer(secret).sign(webhookId, at, body)).join(" ");
}
