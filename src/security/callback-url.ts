import { lookup } from "node:dns/promises";
import type { CallbackAllowlist } from "./callback-allowlist.js";
import { isBlockedAddress, parseHost } from "./ip-address.js";

/** Resolves a host name to every A/AAAA address it has. Injected so tests never touch real DNS. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** getaddrinfo via `dns.promises.lookup(hostname, { all: true, verbatim: true })`: what a plain connect would use (hosts file included). */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
};

export type CallbackUrlProblem = "callback_url_invalid" | "callback_url_forbidden" | "callback_url_unresolvable";

export type CallbackUrlCheck = { ok: true; url: URL } | { ok: false; code: CallbackUrlProblem; message: string };

/** Longest callback URL accepted, in UTF-16 code units of the string as submitted. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/**
 * Registration-time check of a callback URL. The connect-time guard (`createGuardedAgent`) checks again
 * on every connection, so this one exists to give the client an early, clear answer, not to be airtight.
 *
 * - `callback_url_invalid`: not an absolute URL, scheme other than http/https (only https when
 *   `requireHttps`), longer than 2048 characters, has a username/password, or has no host.
 * - `callback_url_forbidden`: the host is a blocked IP literal (in any spelling), `localhost` or
 *   `*.localhost`, or ANY address the resolver returns is blocked — unless the allowlist allows the
 *   host (`allowsHost`) or each blocked address (`allowsAddress`).
 * - `callback_url_unresolvable`: the resolver fails with ENOTFOUND/ENODATA or returns no address.
 *
 * Any other resolver failure (EAI_AGAIN, ETIMEOUT, a resolution slower than `resolveTimeoutMs`, default
 * 3000) counts as transient and the URL is accepted: refusing a registration over a DNS hiccup would be
 * worse, and delivery is guarded anyway. Messages name the host at most, never the path or query
 * (which may carry tokens), nor the resolved addresses (which would leak internal DNS).
 */
export async function checkCallbackUrl(
  raw: string,
  options: { allowlist: CallbackAllowlist; resolver?: Resolver; requireHttps?: boolean; resolveTimeoutMs?: number },
): Promise<CallbackUrlCheck> {
  const { allowlist, resolver = systemResolver, requireHttps = false, resolveTimeoutMs = 3000 } = options;
  const invalid = (message: string): CallbackUrlCheck => ({ ok: false, code: "callback_url_invalid", message });

  if (raw.length > MAX_CALLBACK_URL_LENGTH) return invalid(`callback URL is longer than ${MAX_CALLBACK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return invalid("callback URL is not a valid absolute URL");
  }
  const schemes = requireHttps ? ["https:"] : ["http:", "https:"];
  if (!schemes.includes(url.protocol)) {
    return invalid(requireHttps ? "callback URL must use https" : "callback URL must use http or https");
  }
  if (url.username !== "" || url.password !== "") return invalid("callback URL must not contain a username or password");
  if (url.hostname === "") return invalid("callback URL has no host");
  // What is stored and called is the normalised href, which percent-encoding can make much longer.
  if (url.href.length > MAX_CALLBACK_URL_LENGTH) {
    return invalid(`callback URL is longer than ${MAX_CALLBACK_URL_LENGTH} characters once percent-encoded`);
  }

  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  const forbidden = (message: string): CallbackUrlCheck => ({ ok: false, code: "callback_url_forbidden", message });
  const hostAllowed = allowlist.allowsHost(url.hostname, port);
  const host = parseHost(url.hostname);

  if (host.kind !== "name") {
    if (isBlockedAddress(host.address) && !hostAllowed) {
      return forbidden(`callback URL host ${url.hostname} is a private, loopback or otherwise non-public address`);
    }
    return { ok: true, url };
  }

  if (isLocalhostName(host.name) && !hostAllowed) {
    return forbidden(`callback URL host ${url.hostname} is a loopback name`);
  }

  const resolution = await resolveWithTimeout(resolver, host.name, resolveTimeoutMs);
  if (resolution.kind === "transient") return { ok: true, url };
  if (resolution.kind === "not_found") {
    return { ok: false, code: "callback_url_unresolvable", message: `callback URL host ${url.hostname} does not resolve` };
  }
  const blocked = resolution.addresses.some(
    (address) => isBlockedAddress(address) && !hostAllowed && !allowlist.allowsAddress(address, port),
  );
  if (blocked)
    return forbidden(`callback URL host ${url.hostname} resolves to a private, loopback or otherwise non-public address`);
  return { ok: true, url };
}

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761), whatever a resolver claims. */
export function isLocalhostName(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost");
}

type Resolution = { kind: "addresses"; addresses: string[] } | { kind: "not_found" } | { kind: "transient" };

/** Error codes meaning "this name has no address", as opposed to "could not find out right now". */
const NOT_FOUND_CODES = new Set(["ENOTFOUND", "ENODATA"]);

async function resolveWithTimeout(resolver: Resolver, hostname: string, timeoutMs: number): Promise<Resolution> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Resolution>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "transient" }), timeoutMs);
  });
  const attempt = (async (): Promise<Resolution> => {
    try {
      const addresses = await resolver(hostname);
      return addresses.length === 0 ? { kind: "not_found" } : { kind: "addresses", addresses };
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      return typeof code === "string" && NOT_FOUND_CODES.has(code) ? { kind: "not_found" } : { kind: "transient" };
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
