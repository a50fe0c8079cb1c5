/** Why a callback was refused; each code maps to the HTTP status a receiver should answer with. */
export type CallbackVerificationCode =
  /** A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is absent. */
  | "missing_headers"
  /** A webhook header is present but malformed (a timestamp that is not unix seconds, a repeated id). */
  | "invalid_headers"
  /** `webhook-timestamp` is more than 5 minutes in the past (a replay, or a badly skewed clock). */
  | "timestamp_too_old"
  /** `webhook-timestamp` is more than 5 minutes in the future. */
  | "timestamp_too_new"
  /** No `v1` signature in `webhook-signature` matches the body under any of the secrets. */
  | "bad_signature"
  /** The receiver's own secret is not `whsec_` + base64 of 24–64 bytes: a configuration mistake. */
  | "invalid_secret"
  /** The signature matched but the body is not a relay event (not JSON, or not the event envelope). */
  | "invalid_body"
  /** The body is larger than the receiver accepts. */
  | "body_too_large"
  /** Express (or another framework) parsed the body before it could be verified: mount a raw body parser. */
  | "body_already_parsed";

const STATUS: Record<CallbackVerificationCode, 400 | 401 | 413 | 500> = {
  missing_headers: 400,
  invalid_headers: 400,
  invalid_body: 400,
  timestamp_too_old: 401,
  timestamp_too_new: 401,
  bad_signature: 401,
  body_too_large: 413,
  invalid_secret: 500,
  body_already_parsed: 500,
};

/**
 * A callback that did not verify. `code` is stable (switch on it); `status` is the HTTP status a
 * receiver should answer with (4xx: the relay retries with the same webhook-id; 5xx: a receiver bug).
 */
export class CallbackVerificationError extends Error {
  override readonly name = "CallbackVerificationError";
  readonly status: 400 | 401 | 413 | 500;

  constructor(
    readonly code: CallbackVerificationCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = STATUS[code];
  }

  /** The relay API's error envelope: `{"error": {"code", "message"}}`. */
  toJSON(): { error: { code: CallbackVerificationCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
