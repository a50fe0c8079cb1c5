import { BlockList } from "node:net";
import { domainToASCII } from "node:url";
import { parseHost } from "./ip-address.js";

/**
 * RELAY_CALLBACK_ALLOWLIST, parsed: targets callbacks may reach even though they are in a blocked range
 * (a receiver on the same private network, a local test server).
 *
 * Entries are comma-separated; each is `host`, `host:port`, an IP (`10.0.0.5`, `::1`, `[::1]`),
 * `ip:port` (`10.0.0.5:8080`, `[::1]:8080`) or a CIDR (`10.0.0.0/8`, `fd00::/8`). Host names match
 * case-insensitively and exactly (no wildcards; a name does not cover its subdomains). An entry without
 * a port matches every port.
 */
export interface CallbackAllowlist {
  /** The entries as written (trimmed), for logs. */
  readonly entries: readonly string[];
  /**
   * Does this URL target (hostname as in URL.hostname, numeric port) match a host/host:port entry?
   * An allowed name is trusted whatever it resolves to. When the hostname is an IP literal, the IP,
   * ip:port and CIDR entries are consulted instead (same answer as `allowsAddress`).
   */
  allowsHost(hostname: string, port: number): boolean;
  /** Does this resolved address (with the port) match an IP/CIDR entry, or an IP host:port entry? */
  allowsAddress(address: string, port: number): boolean;
}

const ENV_NAME = "RELAY_CALLBACK_ALLOWLIST";

/**
 * Parses RELAY_CALLBACK_ALLOWLIST (see {@link CallbackAllowlist} for the syntax). Whitespace around
 * entries is ignored, empty entries are skipped, the empty string is the empty list.
 * Throws an `Error` whose message names the bad entry, e.g. `invalid RELAY_CALLBACK_ALLOWLIST entry "10.0.0.0/99": …`.
 */
export function parseCallbackAllowlist(raw: string): CallbackAllowlist {
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");

  // Port-less address entries go in a BlockList (used here as a "match list"); names and
  // anything with a port are keyed "target|port" with port "*" standing for any port.
  const anyPortNetworks = new BlockList();
  const targets = new Set<string>();

  for (const entry of entries) {
    const problem = addEntry(entry, anyPortNetworks, targets);
    if (problem) throw new Error(`invalid ${ENV_NAME} entry "${entry}": ${problem}`);
  }

  const allowsAddress = (address: string, port: number): boolean => {
    const parsed = parseHost(address);
    if (parsed.kind === "name") return false;
    if (anyPortNetworks.check(parsed.address, parsed.kind)) return true;
    return targets.has(key(parsed.address, "*")) || targets.has(key(parsed.address, port));
  };

  return Object.freeze({
    entries: Object.freeze([...entries]),
    allowsAddress,
    allowsHost(hostname: string, port: number): boolean {
      const parsed = parseHost(hostname);
      if (parsed.kind !== "name") return allowsAddress(parsed.address, port);
      const name = canonicalName(parsed.name);
      if (name === undefined) return false;
      return targets.has(key(name, "*")) || targets.has(key(name, port));
    },
  });
}

function key(target: string, port: number | "*"): string {
  return `${target}|${port}`;
}

/** Adds one entry; returns what is wrong with it, or undefined. */
function addEntry(entry: string, anyPortNetworks: BlockList, targets: Set<string>): string | undefined {
  if (entry.includes("://")) return "write a host, host:port, IP or CIDR, not a URL";
  const slash = entry.indexOf("/");
  if (slash !== -1) {
    const parsed = parseHost(entry.slice(0, slash));
    const prefixText = entry.slice(slash + 1);
    if (parsed.kind === "name") return "a CIDR must start with an IP address";
    const max = parsed.kind === "ipv4" ? 32 : 128;
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= max)) return `the prefix length must be 0 to ${max}`;
    anyPortNetworks.addSubnet(parsed.address, prefix, parsed.kind);
    return undefined;
  }

  const { host, port } = splitPort(entry);
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return "the port must be a number";
  const portNumber = port === undefined ? "*" : Number(port);
  if (portNumber !== "*" && (portNumber < 1 || portNumber > 65535)) return "the port must be 1 to 65535";

  const parsed = parseHost(host);
  if (parsed.kind !== "name") {
    if (portNumber === "*") anyPortNetworks.addAddress(parsed.address, parsed.kind);
    else targets.add(key(parsed.address, portNumber));
    return undefined;
  }
  if (host.startsWith("[")) return "brackets must enclose an IPv6 address";
  const name = canonicalName(parsed.name);
  if (name === undefined) return "not a valid host name, IP address or CIDR";
  targets.add(key(name, portNumber));
  return undefined;
}

/** "host:port" / "[v6]:port" → parts; a bare IPv6 ("::1") has no port. */
function splitPort(entry: string): { host: string; port: string | undefined } {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close !== -1 && entry[close + 1] === ":") return { host: entry.slice(0, close + 1), port: entry.slice(close + 2) };
    return { host: entry, port: undefined };
  }
  const colon = entry.indexOf(":");
  if (colon === -1 || colon !== entry.lastIndexOf(":")) return { host: entry, port: undefined };
  return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
}

/**
 * The name as URL.hostname would spell it (IDNA/punycode, lower case), or undefined when it is not one.
 * Names whose last label is numeric are refused: the URL parser treats those as IPv4 and rejects
 * them when invalid, so such an entry could never match and is surely a typo.
 */
function canonicalName(name: string): string | undefined {
  if (name === "" || name.length > 253) return undefined;
  const ascii = domainToASCII(name);
  if (ascii === "" || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii)) return undefined;
  if (ascii.split(".").some((label) => label.length > 63)) return undefined;
  const last = ascii.slice(ascii.lastIndexOf(".") + 1);
  if (/^(\d+|0x[0-9a-f]*)$/.test(last)) return undefined;
  return ascii;
}
