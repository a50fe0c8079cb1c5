import { RelayError, type RelayErrorDetail } from "./relay-error.js";

export interface TransportOptions {
  /** The relay's base URL (`http://127.0.0.1:8080`); a path prefix is kept. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` (printable ASCII, no spaces). */
  token: string;
  /** Defaults to globalThis.fetch; useful for testing. */
  fetch?: typeof fetch | undefined;
  /** Whole-request deadline in ms (default 30000): past it the call fails with `network_error`. */
  timeoutMs?: number | undefined;
}

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Starts with `/`; path segments already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  headers?: Record<string, string | undefined> | undefined;
  /** false: no Authorization header (health routes). */
  auth?: boolean;
  /** Non-2xx statuses whose envelope is still an answer (`/readyz` answers 503 with `{data}`). */
  acceptStatus?: readonly number[];
  /** A 2xx answer is any JSON value, returned as `body` unwrapped (Rendley's prices, passed through as sent). */
  raw?: boolean;
}

/** What a successful call returned: the whole envelope (`data`, and `next_cursor` on lists). */
export interface Envelope<T> {
  status: number;
  body: { data: T } & Record<string, unknown>;
}

export type Transport = <T>(spec: RequestSpec) => Promise<Envelope<T>>;

const TOKEN = /^[\x21-\x7e]{1,1024}$/;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const DEFAULT_TIMEOUT_MS = 30_000;

/** `/x/{id}` with the id percent-encoded. */
export const segment = (value: string) => encodeURIComponent(value);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseDetails(value: unknown): RelayErrorDetail[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((d): d is Record<string, unknown> => isObject(d))
    .map((d) => ({ path: String(d.path ?? ""), message: String(d.message ?? "") }));
}

/** Why fetch failed, without anything from the request (its headers hold the key). */
function networkReason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: unknown; message?: unknown } } | undefined;
  if (e?.name === "TimeoutError") return "timed out";
  if (e?.name === "AbortError") return "aborted";
  const code = e?.cause?.code;
  if (typeof code === "string") return code;
  const message = e?.cause?.message;
  return typeof message === "string" ? message : "fetch failed";
}

/**
 * The one HTTP path of both clients: JSON in, `{data}` envelope out, a RelayError for everything else.
 * @throws TypeError for a base URL that is not http(s) or a token that cannot be a header value (never quoted)
 */
export function createTransport(options: TransportOptions): Transport {
  const url = new URL(options.baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("baseUrl must be an http(s) URL");
  if (!TOKEN.test(options.token)) throw new TypeError("the key must be 1 to 1024 printable ASCII characters without spaces");
  const base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  const where = url.origin; // never the credentials a URL may carry
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return async <T>(spec: RequestSpec): Promise<Envelope<T>> => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) if (value !== undefined) query.set(name, String(value));
    const target = `${base}${spec.path}${query.toString() ? `?${query.toString()}` : ""}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (spec.auth !== false) headers.authorization = `Bearer ${options.token}`;
    if (spec.body !== undefined) headers["content-type"] = "application/json";
    for (const [name, value] of Object.entries(spec.headers ?? {})) {
      if (value === undefined) continue;
      // fetch would reject it as if the network had failed (and quote it): say what is wrong instead.
      if (!HEADER_VALUE.test(value)) throw new TypeError(`the ${name} header must be printable ASCII`);
      headers[name] = value;
    }

    let res: Response;
    let text: string;
    try {
      res = await doFetch(target, {
        method: spec.method,
        headers,
        ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new RelayError(0, "network_error", `could not reach the relay at ${where}: ${networkReason(err)}`, { cause: err });
    }
    const requestId = res.headers.get("x-request-id") ?? undefined;
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const ok = (res.status >= 200 && res.status < 300) || (spec.acceptStatus ?? []).includes(res.status);
    if (ok) {
      if ((spec.raw && body !== undefined) || (isObject(body) && "data" in body))
        return { status: res.status, body: body as Envelope<T>["body"] };
      throw new RelayError(
        res.status,
        "invalid_response",
        `${spec.method} ${spec.path} answered ${res.status} without a {data} body`,
        {
          requestId,
        },
      );
    }
    const error = isObject(body) ? body.error : undefined;
    if (isObject(error) && typeof error.code === "string" && typeof error.message === "string") {
      throw new RelayError(res.status, error.code, error.message, { details: parseDetails(error.details), requestId });
    }
    throw new RelayError(
      res.status,
      "invalid_response",
      `${spec.method} ${spec.path} answered ${res.status} without an {error} body (is ${where} a rendley-relay?)`,
      { requestId },
    );
  };
}
