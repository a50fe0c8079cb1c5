import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signPayload } from "../../../src/delivery/sign.js";

const newSecret = (bytes = 32): string => `whsec_${randomBytes(bytes).toString("base64")}`;
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** The signature computed independently of standardwebhooks. */
function hmac(secret: string, id: string, ts: number, body: string): string {
  return createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
    .update(`${id}.${ts}.${body}`)
    .digest("base64");
}

const headers = (id: string, ts: number, signature: string) => ({
  "webhook-id": id,
  "webhook-timestamp": String(ts),
  "webhook-signature": signature,
});

const BODY = JSON.stringify({
  type: "job.completed",
  timestamp: "2026-01-01T00:00:00.000Z",
  data: { job_id: "job_1", note: "é ✓ \u2028" },
});

describe("signPayload", () => {
  it.each([24, 32, 64])("verifies with the standardwebhooks reference implementation (%i-byte secret)", (bytes) => {
    const secret = newSecret(bytes);
    const ts = nowSec();
    const signature = signPayload([secret], "msg_1", ts, BODY);
    expect(new Webhook(secret).verify(BODY, headers("msg_1", ts, signature))).toEqual(JSON.parse(BODY));
  });

  it("is byte for byte what the standardwebhooks reference signs", () => {
    const secret = newSecret();
    const ts = 1_767_225_600;
    expect(signPayload([secret], "msg_ref", ts, BODY)).toBe(new Webhook(secret).sign("msg_ref", new Date(ts * 1000), BODY));
  });

  it("is exactly v1, plus the base64 HMAC-SHA256 of id.timestamp.body", () => {
    const secret = newSecret();
    const ts = 1_767_225_600;
    expect(signPayload([secret], "msg_01abc", ts, BODY)).toBe(`v1,${hmac(secret, "msg_01abc", ts, BODY)}`);
  });

  it("matches a known vector", () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    expect(signPayload([secret], "msg_x", 1_700_000_000, "{}")).toBe(`v1,${hmac(secret, "msg_x", 1_700_000_000, "{}")}`);
    // and is deterministic
    expect(signPayload([secret], "msg_x", 1_700_000_000, "{}")).toBe(signPayload([secret], "msg_x", 1_700_000_000, "{}"));
  });

  it("signs the exact bytes: different id, timestamp or body → different signature", () => {
    const secret = newSecret();
    const reference = signPayload([secret], "msg_1", 1_700_000_000, BODY);
    expect(signPayload([secret], "msg_2", 1_700_000_000, BODY)).not.toBe(reference);
    expect(signPayload([secret], "msg_1", 1_700_000_001, BODY)).not.toBe(reference);
    expect(signPayload([secret], "msg_1", 1_700_000_000, `${BODY} `)).not.toBe(reference);
  });

  it("with two secrets: two space-separated v1 entries, each verifying with its own secret only", () => {
    const [oldSecret, newer] = [newSecret(), newSecret()];
    const ts = nowSec();
    const header = signPayload([oldSecret, newer], "msg_rot", ts, BODY);
    const entries = header.split(" ");
    expect(entries).toEqual([`v1,${hmac(oldSecret, "msg_rot", ts, BODY)}`, `v1,${hmac(newer, "msg_rot", ts, BODY)}`]);

    expect(new Webhook(oldSecret).verify(BODY, headers("msg_rot", ts, entries[0]!))).toBeTruthy();
    expect(new Webhook(newer).verify(BODY, headers("msg_rot", ts, entries[1]!))).toBeTruthy();
    expect(() => new Webhook(oldSecret).verify(BODY, headers("msg_rot", ts, entries[1]!))).toThrow("No matching signature found");
    expect(() => new Webhook(newer).verify(BODY, headers("msg_rot", ts, entries[0]!))).toThrow("No matching signature found");
    // a receiver holding either secret accepts the whole header
    expect(new Webhook(oldSecret).verify(BODY, headers("msg_rot", ts, header))).toBeTruthy();
    expect(new Webhook(newer).verify(BODY, headers("msg_rot", ts, header))).toBeTruthy();
  });

  it("no secrets → empty header", () => {
    expect(signPayload([], "msg_1", nowSec(), BODY)).toBe("");
  });

  it.each<[string, (h: ReturnType<typeof headers>) => [string, ReturnType<typeof headers>]]>([
    ["a tampered body", (h) => [BODY.replace("job_1", "job_2"), h]],
    ["a different webhook-id", (h) => [BODY, { ...h, "webhook-id": "msg_other" }]],
    ["a different timestamp", (h) => [BODY, { ...h, "webhook-timestamp": String(Number(h["webhook-timestamp"]) - 1) }]],
  ])("fails verification with %s", (_label, tamper) => {
    const secret = newSecret();
    const ts = nowSec();
    const signed = headers("msg_1", ts, signPayload([secret], "msg_1", ts, BODY));
    const [body, h] = tamper(signed);
    expect(() => new Webhook(secret).verify(body, h)).toThrow("No matching signature found");
  });

  it("fails verification with another secret", () => {
    const ts = nowSec();
    const signature = signPayload([newSecret()], "msg_1", ts, BODY);
    expect(() => new Webhook(newSecret()).verify(BODY, headers("msg_1", ts, signature))).toThrow("No matching signature found");
  });
});
