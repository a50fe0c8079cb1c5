import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import {
  callbackVerifier,
  CallbackVerificationError,
  type CallbackVerifierEnv,
  type RelayEvent,
} from "../../../src/receiver/index.js";
import { newSecret, nowSec, signedCallback } from "./signed-callback.js";

const SECRET = newSecret();

function receiverApp(secret: string | string[] = SECRET) {
  const seen: RelayEvent[] = [];
  const app = new Hono<CallbackVerifierEnv>();
  app.post("/hooks/rendley", callbackVerifier({ secret }), async (c) => {
    seen.push(c.get("relayEvent"));
    // The raw body stays readable after verification.
    expect(await c.req.json()).toEqual(c.get("relayEvent"));
    return c.body(null, 204);
  });
  return { app, seen };
}

const post = (app: Hono<CallbackVerifierEnv>, body: string, headers: Record<string, string>) =>
  app.request("/hooks/rendley", { method: "POST", body, headers });

describe("callbackVerifier (Hono middleware)", () => {
  it("sets c.get('relayEvent') for a callback signed by the relay", async () => {
    const { app, seen } = receiverApp();
    const { body, headers } = signedCallback([SECRET]);
    const res = await post(app, body, headers);
    expect(res.status).toBe(204);
    expect(seen).toEqual([JSON.parse(body)]);
  });

  it("accepts a rotation header with either secret", async () => {
    const [a, b] = [newSecret(), newSecret()];
    const { body, headers } = signedCallback([b, a]);
    for (const secret of [a, b, [newSecret(), a]]) {
      expect((await post(receiverApp(secret).app, body, headers)).status).toBe(204);
    }
  });

  it.each([
    [
      "a tampered body",
      (s: ReturnType<typeof signedCallback>) => ({ ...s, body: s.body.replace("ord_42", "ord_1") }),
      401,
      "bad_signature",
    ],
    ["an old timestamp", () => signedCallback([SECRET], { timestampSec: nowSec() - 600 }), 401, "timestamp_too_old"],
    [
      "missing headers",
      (s: ReturnType<typeof signedCallback>) => ({ body: s.body, headers: { "content-type": "application/json" } }),
      400,
      "missing_headers",
    ],
    ["another secret", () => signedCallback([newSecret()]), 401, "bad_signature"],
  ])("answers %s with %i %s and never reaches the handler", async (_name, make, status, code) => {
    const { app, seen } = receiverApp();
    const { body, headers } = make(signedCallback([SECRET]));
    const res = await post(app, body, headers);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
    expect(seen).toEqual([]);
  });

  it("answers 413 to a body announced larger than maxBodyBytes", async () => {
    const app = new Hono<CallbackVerifierEnv>();
    app.post("/", callbackVerifier({ secret: SECRET, maxBodyBytes: 100 }), (c) => c.body(null, 204));
    const { body, headers } = signedCallback([SECRET]);
    const res = await app.request("/", { method: "POST", body, headers: { ...headers, "content-length": String(body.length) } });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "body_too_large" } });
  });

  it("refuses a malformed secret when the middleware is built, not on the first callback", () => {
    expect(() => callbackVerifier({ secret: "whsec_bXlzZWNyZXQ=" })).toThrow(CallbackVerificationError);
    expect(() => callbackVerifier({ secret: "mysecret" })).toThrow(/base64|bytes/);
  });
});
