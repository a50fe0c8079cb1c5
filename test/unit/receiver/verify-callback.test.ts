import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { CallbackVerificationError, verifyCallback, type RelayEvent } from "../../../src/receiver/index.js";
import { eventBody, newSecret, nowSec, signedCallback } from "./signed-callback.js";

const SECRET = newSecret();

function refusal(fn: () => unknown): CallbackVerificationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CallbackVerificationError);
    return err as CallbackVerificationError;
  }
  throw new Error("expected a CallbackVerificationError, nothing was thrown");
}

describe("verifyCallback", () => {
  it("returns the typed event of a callback signed by the relay's signer", () => {
    const { body, headers } = signedCallback([SECRET]);
    const event: RelayEvent = verifyCallback(body, headers, SECRET);
    expect(event).toEqual(JSON.parse(body));
    expect(event.type).toBe("job.completed");
    expect(event.data).toMatchObject({ watch_id: "wch_01m8dpcqe94bq4cd4fjdc6t9x2", job_id: "job_8f2c41d0", status: "completed" });
    expect(event.data.result).toEqual({ storage_url: "https://storage.rendley.com/exports/a.mp4" });
    expect(event.data.metadata).toEqual({ order_id: "ord_42", note: "é ✓ \u2028" });
  });

  it("verifies a callback signed by the standardwebhooks reference signer", () => {
    const body = eventBody({ type: "watch.expired" });
    const at = new Date();
    const headers = {
      "webhook-id": "msg_ref",
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(SECRET).sign("msg_ref", at, body),
    };
    const event = verifyCallback(body, headers, SECRET);
    expect(event).toMatchObject({ type: "watch.expired", data: { job: null, status: null, reason: "job_not_found" } });
  });

  describe("header styles", () => {
    const { body, headers } = signedCallback([SECRET]);
    it.each([
      ["Fetch Headers", new Headers(headers)],
      ["Node IncomingHttpHeaders (lowercase, arrays)", { ...headers, "webhook-signature": [headers["webhook-signature"]!] }],
      [
        "mixed-case plain object",
        {
          "Webhook-Id": headers["webhook-id"]!,
          "WEBHOOK-TIMESTAMP": headers["webhook-timestamp"]!,
          "Webhook-Signature": headers["webhook-signature"]!,
        },
      ],
    ])("%s", (_name, style) => {
      expect(verifyCallback(body, style, SECRET).type).toBe("job.completed");
    });

    it("several webhook-signature lines (a Node string[]) count as one space-separated list", () => {
      const other = newSecret();
      const signed = signedCallback([other, SECRET]);
      const [a, b] = signed.headers["webhook-signature"]!.split(" ");
      expect(verifyCallback(signed.body, { ...signed.headers, "webhook-signature": [a!, b!] }, SECRET).type).toBe(
        "job.completed",
      );
    });

    it("a repeated webhook-id is refused as invalid_headers", () => {
      const id = headers["webhook-id"]!;
      expect(refusal(() => verifyCallback(body, { ...headers, "webhook-id": [id, id] }, SECRET)).code).toBe("invalid_headers");
    });
  });

  it.each([
    ["a string", (body: string) => body],
    ["a Buffer", (body: string) => Buffer.from(body)],
    ["a Uint8Array", (body: string) => new TextEncoder().encode(body)],
    ["an ArrayBuffer", (body: string) => new TextEncoder().encode(body).buffer as ArrayBuffer],
  ])("accepts the raw body as %s", (_name, toRaw) => {
    const { body, headers } = signedCallback([SECRET]);
    expect(verifyCallback(toRaw(body), headers, SECRET).data.job_id).toBe("job_8f2c41d0");
  });

  describe("rotation", () => {
    const [oldSecret, newerSecret] = [newSecret(), newSecret(48)];

    it("a header with two signatures (grace period) verifies with either secret alone", () => {
      const { body, headers } = signedCallback([newerSecret, oldSecret]);
      expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
      expect(verifyCallback(body, headers, oldSecret).type).toBe("job.completed");
      expect(verifyCallback(body, headers, newerSecret).type).toBe("job.completed");
    });

    it("a receiver holding both secrets accepts callbacks signed with either one", () => {
      for (const signer of [oldSecret, newerSecret]) {
        const { body, headers } = signedCallback([signer]);
        expect(verifyCallback(body, headers, [newerSecret, oldSecret]).type).toBe("job.completed");
      }
    });

    it("a secret matching neither signature is bad_signature", () => {
      const { body, headers } = signedCallback([newerSecret, oldSecret]);
      expect(refusal(() => verifyCallback(body, headers, [SECRET])).code).toBe("bad_signature");
    });
  });

  describe("refusals", () => {
    it.each([
      [
        "a tampered body",
        () => {
          const { body, headers } = signedCallback([SECRET]);
          return [body.replace("ord_42", "ord_43"), headers] as const;
        },
        "bad_signature",
        401,
      ],
      [
        "re-serialised JSON (whitespace differs)",
        () => {
          const { body, headers } = signedCallback([SECRET]);
          return [JSON.stringify(JSON.parse(body), null, 2), headers] as const;
        },
        "bad_signature",
        401,
      ],
      [
        "a changed webhook-id",
        () => {
          const { body, headers } = signedCallback([SECRET]);
          return [body, { ...headers, "webhook-id": "msg_other" }] as const;
        },
        "bad_signature",
        401,
      ],
      [
        "a signature of another scheme (v1a)",
        () => {
          const { body, headers } = signedCallback([SECRET]);
          return [body, { ...headers, "webhook-signature": headers["webhook-signature"]!.replace("v1,", "v1a,") }] as const;
        },
        "bad_signature",
        401,
      ],
      [
        "a timestamp 6 minutes old",
        () => {
          const signed = signedCallback([SECRET], { timestampSec: nowSec() - 360 });
          return [signed.body, signed.headers] as const;
        },
        "timestamp_too_old",
        401,
      ],
      [
        "a timestamp 6 minutes ahead",
        () => {
          const signed = signedCallback([SECRET], { timestampSec: nowSec() + 360 });
          return [signed.body, signed.headers] as const;
        },
        "timestamp_too_new",
        401,
      ],
      [
        "a timestamp in milliseconds",
        () => {
          const signed = signedCallback([SECRET], { timestampSec: Date.now() });
          return [signed.body, signed.headers] as const;
        },
        "invalid_headers",
        400,
      ],
      [
        "no webhook-signature",
        () => {
          const { body, headers } = signedCallback([SECRET]);
          const { "webhook-signature": _gone, ...rest } = headers;
          return [body, rest] as const;
        },
        "missing_headers",
        400,
      ],
      ["no headers at all", () => [eventBody(), new Headers()] as const, "missing_headers", 400],
      [
        "a signed body that is not JSON",
        () => {
          const signed = signedCallback([SECRET], { body: "not json" });
          return [signed.body, signed.headers] as const;
        },
        "invalid_body",
        400,
      ],
      [
        "a signed JSON body that is not an event",
        () => {
          const signed = signedCallback([SECRET], { body: '{"hello":"world"}' });
          return [signed.body, signed.headers] as const;
        },
        "invalid_body",
        400,
      ],
    ] as const)("%s → %s", (_name, make, code, status) => {
      const [body, headers] = make();
      const err = refusal(() => verifyCallback(body, headers, SECRET));
      expect(err).toMatchObject({ code, status, name: "CallbackVerificationError" });
      expect(err.toJSON()).toEqual({ error: { code, message: err.message } });
    });

    it("an old timestamp is refused even when a later secret would match", () => {
      const signed = signedCallback([SECRET], { timestampSec: nowSec() - 3600 });
      expect(refusal(() => verifyCallback(signed.body, signed.headers, [newSecret(), SECRET])).code).toBe("timestamp_too_old");
    });

    it("parsed JSON instead of the raw body is body_already_parsed", () => {
      const { body, headers } = signedCallback([SECRET]);
      const err = refusal(() => verifyCallback(JSON.parse(body), headers, SECRET));
      expect(err.code).toBe("body_already_parsed");
    });
  });

  describe("secrets", () => {
    const { body, headers } = signedCallback([SECRET]);
    it.each([
      ["a short secret standardwebhooks would accept", "whsec_bXlzZWNyZXQ="],
      ["no secret", "whsec_"],
      ["not base64", "whsec_not*base64*at*all*but*long*enough*"],
      ["too long (65 bytes)", `whsec_${Buffer.alloc(65, 1).toString("base64")}`],
      ["an empty list", []],
    ] as const)("%s → invalid_secret", (_name, secret) => {
      const err = refusal(() => verifyCallback(body, headers, secret));
      expect(err).toMatchObject({ code: "invalid_secret", status: 500 });
      if (typeof secret === "string" && secret.length > 6) expect(err.message).not.toContain(secret.slice(6));
    });

    it("accepts the secret with or without the whsec_ prefix, 24 to 64 bytes", () => {
      for (const bytes of [24, 64]) {
        const secret = newSecret(bytes);
        const signed = signedCallback([secret]);
        expect(verifyCallback(signed.body, signed.headers, secret).type).toBe("job.completed");
        expect(verifyCallback(signed.body, signed.headers, secret.slice("whsec_".length)).type).toBe("job.completed");
      }
    });
  });
});
