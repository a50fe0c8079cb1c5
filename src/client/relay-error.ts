export interface RelayErrorDetail {
  path: string;
  message: string;
}

/**
 * Every failed call: a non-2xx answer (`code` from the `{error: {code, message}}` envelope), `network_error`
 * (status 0) when the relay could not be reached, or `invalid_response` when the body is not the envelope.
 * Messages never contain keys.
 */
export class RelayError extends Error {
  override readonly name = "RelayError";
  readonly status: number;
  readonly code: string;
  readonly details?: RelayErrorDetail[];
  /** The relay's `x-request-id`, when it answered (quote it when reporting a problem). */
  readonly requestId?: string;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: RelayErrorDetail[] | undefined; requestId?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    if (options.details) this.details = options.details;
    if (options.requestId) this.requestId = options.requestId;
  }
}
