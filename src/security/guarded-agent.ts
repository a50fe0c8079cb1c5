import { Agent, buildConnector, errors } from "undici";
import type { CallbackAllowlist } from "./callback-allowlist.js";
import { isLocalhostName, systemResolver, type Resolver } from "./callback-url.js";
import { isBlockedAddress, parseHost } from "./ip-address.js";

/**
 * The error a guarded connection fails with when its target is, or resolves to, a blocked address.
 * `code` is stable; callers should test with {@link isBlockedAddressError} rather than `instanceof`,
 * since wrappers (fetch, retry handlers) may bury it in `.cause`.
 */
export class BlockedAddressError extends Error {
  override readonly name = "BlockedAddressError";
  readonly code = "RELAY_BLOCKED_ADDRESS";
  constructor(
    /** The blocked address (canonical form). */
    readonly address: string,
    /** The host name the connection was for (equal to `address` for IP literals). */
    readonly hostname: string,
  ) {
    super(
      address === hostname
        ? `refusing to connect to ${address}: private, loopback or otherwise non-public address`
        : `refusing to connect to ${hostname}: it resolves to ${address}, a private, loopback or otherwise non-public address`,
    );
  }
}

/**
 * True when `err`, or any error in its `.cause` chain (or an AggregateError's `.errors`), has
 * `code === "RELAY_BLOCKED_ADDRESS"`. With undici's `request()` the rejection is the
 * BlockedAddressError itself; with `fetch()` it is a TypeError whose `.cause` is.
 */
export function isBlockedAddressError(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    if (typeof e !== "object" || e === null || seen.has(e)) return false;
    seen.add(e);
    const { code, cause, errors: inner } = e as { code?: unknown; cause?: unknown; errors?: unknown };
    if (code === "RELAY_BLOCKED_ADDRESS") return true;
    if (Array.isArray(inner) && inner.some(visit)) return true;
    return visit(cause);
  };
  return visit(err);
}

/** Options of {@link createGuardedAgent}. */
export interface GuardedAgentOptions {
  /** Targets allowed despite being in a blocked range. */
  allowlist: CallbackAllowlist;
  /** Name resolution (default `systemResolver`); the connection goes to the address it returned. */
  resolver?: Resolver;
  /** Bound on resolution and, separately, on the TCP/TLS connect (default 10 000 ms). */
  connectTimeoutMs?: number;
  /**
   * Passed to the Agent (keepAliveTimeout, headersTimeout, …). `allowH2` and `maxCachedSessions` also reach the
   * connector. `allowH2` defaults to false here: undici 8 offers HTTP/2 by default, callbacks stay on HTTP/1.1.
   */
  agentOptions?: Omit<Agent.Options, "connect">;
  /**
   * For tests only: the connector that opens sockets once the guard has approved an address,
   * instead of undici's `buildConnector()`. Lets a test prove a refused target never reached it.
   */
  connector?: buildConnector.connector;
}

/** Connect failures that say "this address cannot be reached at all", so trying the next checked address is worth it. */
const TRY_NEXT_ADDRESS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "EAFNOSUPPORT"]);

/**
 * One undici Agent for callback traffic that cannot be steered into private networks.
 *
 * Its connector resolves the host itself (through `resolver`), refuses the connection if ANY resolved
 * address is blocked (`isBlockedAddress`) and not allowed by the allowlist (`allowsHost` on the
 * hostname, or `allowsAddress` per address), then connects to the exact address it checked — undici's
 * connector is called with `hostname` replaced by that address, keeping `host`/`servername` so TLS SNI
 * and certificate verification still use the name. There is no second DNS lookup, so DNS rebinding
 * cannot slip in between check and connect. IP literals (bracketed IPv6, numeric spellings) are checked
 * too; that is why this does not hook `connect.lookup`, which Node skips for IP literals. `localhost`
 * and `*.localhost` are refused unless allowlisted, whatever the resolver says. If the first address
 * refuses or is unreachable the next checked one is tried (IPv6 answers come first with
 * `verbatim: true`, and not every host has an IPv6 route).
 *
 * A refused connection makes the request fail with a {@link BlockedAddressError}
 * (`code === "RELAY_BLOCKED_ADDRESS"`): `request()` rejects with it directly; test with
 * {@link isBlockedAddressError}, which also looks through `.cause`. A resolution failure rejects with
 * the resolver's error (e.g. `code: "ENOTFOUND"`); a resolution slower than `connectTimeoutMs` with
 * undici's ConnectTimeoutError (`code: "UND_ERR_CONNECT_TIMEOUT"`). Redirects are never followed by
 * undici's `request()`, so each hop cannot bypass the guard.
 */
export function createGuardedAgent(options: GuardedAgentOptions): Agent {
  const { allowlist, resolver = systemResolver, connectTimeoutMs = 10_000 } = options;
  const agentOptions = { ...options.agentOptions, allowH2: options.agentOptions?.allowH2 ?? false };
  const base =
    options.connector ??
    buildConnector({
      timeout: connectTimeoutMs,
      // Agent only forwards these to connectors it builds itself, and we build ours. undici 8's connector
      // offers h2 in ALPN unless told not to.
      allowH2: agentOptions.allowH2,
      ...(agentOptions.maxCachedSessions !== undefined ? { maxCachedSessions: agentOptions.maxCachedSessions } : {}),
    });

  const connect: buildConnector.connector = (opts, callback) => {
    // undici adds socketPath when the Agent has one; a unix socket would bypass every check, so drop it.
    const { socketPath: _ignored, ...target } = opts;
    const port = opts.port === "" || opts.port === undefined ? (opts.protocol === "https:" ? 443 : 80) : Number(opts.port);
    const fail = (err: Error) => callback(err, null);

    const host = parseHost(opts.hostname);
    if (host.kind !== "name") {
      // Node would connect to an IP literal without any lookup, so this is the only check it gets.
      if (isBlockedAddress(host.address) && !allowlist.allowsAddress(host.address, port)) {
        queueMicrotask(() => fail(new BlockedAddressError(host.address, host.address)));
        return;
      }
      base({ ...target, hostname: host.address }, callback);
      return;
    }

    const hostAllowed = allowlist.allowsHost(host.name, port);
    if (isLocalhostName(host.name) && !hostAllowed) {
      queueMicrotask(() => fail(new BlockedAddressError("127.0.0.1", host.name)));
      return;
    }

    resolveWithin(resolver, host.name, connectTimeoutMs).then(
      (addresses) => {
        const checked = addresses.map((address) => parseHost(address));
        for (const address of checked) {
          const canonical = address.kind === "name" ? address.name : address.address;
          if (isBlockedAddress(canonical) && !hostAllowed && !allowlist.allowsAddress(canonical, port)) {
            fail(new BlockedAddressError(canonical, host.name));
            return;
          }
        }
        const usable = checked.flatMap((address) => (address.kind === "name" ? [] : [address.address]));
        if (usable.length === 0) {
          // Only reachable when an allowlisted name "resolved" to junk: nothing to connect to.
          fail(Object.assign(new Error(`${host.name} resolved to no usable address`), { code: "ENOTFOUND" }));
          return;
        }
        connectToFirst(
          usable,
          (address, done) =>
            base(
              {
                ...target,
                hostname: address,
                // buildConnector derives SNI from `host`, but `host` is optional in its contract.
                servername: opts.servername || host.name,
              },
              done,
            ),
          callback,
        );
      },
      (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
    );
  };

  return new Agent({ ...agentOptions, connect });
}

/** Tries each address in order, moving on only after connect errors that mean "unreachable". */
function connectToFirst(
  addresses: readonly string[],
  attempt: (address: string, done: buildConnector.Callback) => void,
  callback: buildConnector.Callback,
): void {
  const next = (index: number): void => {
    const address = addresses[index];
    if (address === undefined) return; // callers pass at least one address
    attempt(address, (...args) => {
      const [err] = args;
      const code = (err as { code?: unknown } | null)?.code;
      if (err && index + 1 < addresses.length && typeof code === "string" && TRY_NEXT_ADDRESS.has(code)) {
        next(index + 1);
        return;
      }
      callback(...args);
    });
  };
  next(0);
}

async function resolveWithin(resolver: Resolver, hostname: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new errors.ConnectTimeoutError(`resolving ${hostname} took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const addresses = await Promise.race([Promise.resolve().then(() => resolver(hostname)), timeout]);
    if (addresses.length === 0) {
      throw Object.assign(new Error(`${hostname} resolved to no address`), { code: "ENOTFOUND", hostname });
    }
    return addresses;
  } finally {
    clearTimeout(timer);
  }
}
