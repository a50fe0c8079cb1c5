import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";
  readonly code = "RELAY_SECRET_UNREADABLE";
}

/**
 * AES-256-GCM for secrets at rest (tenants' Rendley keys). Each value gets a fresh 96-bit IV; the
 * associated data (the tenant id) binds a ciphertext to its row, so a ciphertext copied onto another
 * tenant does not decrypt. Format: `v1:` + base64(iv | tag | ciphertext).
 * @param key 32 bytes (RELAY_ENCRYPTION_KEY)
 */
export function createSecretBox(key: Buffer, randomIv: (size: number) => Buffer = randomBytes) {
  if (key.length !== 32) throw new TypeError("the encryption key must be 32 bytes");
  return {
    seal(plaintext: string, associatedData: string): string {
      const iv = randomIv(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(associatedData, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
    },
    /** @throws SecretBoxError when the value was not sealed with this key for this associated data */
    open(sealed: string, associatedData: string): string {
      const [version, payload] = sealed.split(":", 2);
      const raw = Buffer.from(payload ?? "", "base64");
      if (version !== VERSION || raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError("not a sealed value");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(associatedData, "utf8"));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch (err) {
        throw new SecretBoxError("the value does not decrypt with RELAY_ENCRYPTION_KEY", { cause: err });
      }
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
