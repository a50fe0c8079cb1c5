import { z } from "zod";

/** A whole number from `min` to `max`; `belowMinReason` says why the minimum is what it is. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER, belowMinReason?: string) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `must be at least ${min}${belowMinReason ? ` (${belowMinReason})` : ""}`)
        .max(max, `must be at most ${max}`),
    );

/** A schema around a parser that throws an Error whose message is the problem. */
export const parsedBy = <T>(parse: (raw: string) => T) =>
  z.string().transform((raw, ctx) => {
    try {
      return parse(raw);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

/** 32 bytes, given as base64 (44 chars) or hex (64 chars). */
export function parseEncryptionKey(raw: string): Buffer {
  const bytes = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
  if (bytes.length === 32 && (/^[0-9a-f]{64}$/i.test(raw) || bytes.toString("base64") === raw)) return bytes;
  throw new Error("must be 32 random bytes as base64 or hex (e.g. `openssl rand -base64 32`)");
}

const SIGNING_SECRET_HINT =
  "it must be `whsec_` followed by the base64 of 24 to 64 random bytes (e.g. `whsec_$(openssl rand -base64 32)`)";

/** Checks a Standard Webhooks secret; returns the problem or undefined. */
export function signingSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith("whsec_")) return `does not start with whsec_; ${SIGNING_SECRET_HINT}`;
  const b64 = secret.slice("whsec_".length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || Buffer.from(b64, "base64").toString("base64") !== b64) {
    return `is not valid base64 after whsec_; ${SIGNING_SECRET_HINT}`;
  }
  const bytes = Buffer.from(b64, "base64").length;
  if (bytes < 24 || bytes > 64) return `decodes to ${bytes} bytes; ${SIGNING_SECRET_HINT}`;
  return undefined;
}
