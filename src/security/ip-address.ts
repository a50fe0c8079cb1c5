import { BlockList, isIPv6 } from "node:net";

/**
 * A host name or IP literal in one canonical spelling, so that comparisons and block checks
 * cannot be dodged by writing the same address differently.
 */
export type ParsedHost =
  /** Canonical dotted quad, e.g. "127.0.0.1". */
  | { kind: "ipv4"; address: string }
  /** Canonical lower-case compressed form (RFC 5952 zero compression, every group in hex, as the URL parser prints it), no brackets, no zone. */
  | { kind: "ipv6"; address: string }
  /** Lower-case, trailing dot removed. */
  | { kind: "name"; name: string };

/**
 * Parses a URL hostname (as given by `new URL(u).hostname`, so IPv6 comes bracketed like "[::1]") or a raw address.
 *
 * Every numeric IPv4 spelling the WHATWG URL parser and inet_aton accept is normalised ("2130706433",
 * "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001" are all "127.0.0.1"): URL hostnames arrive already
 * normalised, but DNS answers and allowlist entries come raw, and getaddrinfo would honour those spellings.
 *
 * IPv6 embedded-IPv4 forms ("::ffff:127.0.0.1") are printed in hex ("::ffff:7f00:1"), matching
 * `new URL()`, so the raw and URL spellings of one address compare equal.
 *
 * Never throws: whatever is not an IP literal comes back as `kind: "name"`. That is safe because names are
 * only ever resolved, and every resolved address is checked; a garbage "name" simply fails to resolve.
 */
export function parseHost(hostname: string): ParsedHost {
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    const v6 = parseIpv6(hostname.slice(1, -1));
    if (v6) return { kind: "ipv6", address: formatIpv6(v6) };
    return { kind: "name", name: normaliseName(hostname) };
  }
  const v4 = parseIpv4(hostname);
  if (v4 !== undefined) return { kind: "ipv4", address: formatIpv4(v4) };
  const v6 = parseIpv6(hostname);
  if (v6) return { kind: "ipv6", address: formatIpv6(v6) };
  return { kind: "name", name: normaliseName(hostname) };
}

/**
 * True when the address is in any range a callback must not reach (private, loopback, link-local, CGNAT,
 * multicast, documentation, benchmarking, reserved, NAT64/6to4, ...), including the IPv4-mapped and
 * IPv4-compatible IPv6 forms of the IPv4 ranges. Accepts any spelling `parseHost` understands;
 * anything that is not an IP address is blocked (fail closed).
 */
export function isBlockedAddress(address: string): boolean {
  const parsed = parseHost(address);
  switch (parsed.kind) {
    case "ipv4":
      return BLOCKED.check(parsed.address, "ipv4");
    case "ipv6": {
      // BlockList does match ::ffff:a.b.c.d against IPv4 rules, but not ::a.b.c.d, so unwrap both ourselves.
      const embedded = embeddedIpv4(parseIpv6(parsed.address) ?? []);
      if (embedded !== undefined && BLOCKED.check(formatIpv4(embedded), "ipv4")) return true;
      return BLOCKED.check(parsed.address, "ipv6");
    }
    case "name":
      return true;
  }
}

const BLOCKED_RANGES: ReadonlyArray<readonly [string, number, "ipv4" | "ipv6"]> = [
  ["0.0.0.0", 8, "ipv4"], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"], // CGNAT
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"], // link-local, incl. cloud metadata 169.254.169.254
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"], // IETF protocol assignments
  ["192.0.2.0", 24, "ipv4"], // TEST-NET-1
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"], // benchmarking
  ["198.51.100.0", 24, "ipv4"], // TEST-NET-2
  ["203.0.113.0", 24, "ipv4"], // TEST-NET-3
  ["224.0.0.0", 4, "ipv4"], // multicast
  ["240.0.0.0", 4, "ipv4"], // reserved, incl. broadcast 255.255.255.255
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"], // unique local
  ["fe80::", 10, "ipv6"], // link-local
  ["fec0::", 10, "ipv6"], // deprecated site-local: still routed inside some networks
  ["ff00::", 8, "ipv6"], // multicast
  ["64:ff9b::", 96, "ipv6"], // NAT64: the gateway would forward to whatever IPv4 is embedded
  ["64:ff9b:1::", 48, "ipv6"], // local-use NAT64 (RFC 8215), same reason
  ["2001:db8::", 32, "ipv6"], // documentation
  ["2002::", 16, "ipv6"], // 6to4: embeds an arbitrary IPv4
];

const BLOCKED = (() => {
  const list = new BlockList();
  for (const [network, prefix, family] of BLOCKED_RANGES) list.addSubnet(network, prefix, family);
  list.addAddress("255.255.255.255", "ipv4");
  return list;
})();

/** IPv4-mapped (::ffff:0:0/96) or IPv4-compatible (::/96) address: the IPv4 it carries. */
function embeddedIpv4(groups: readonly number[]): number | undefined {
  if (groups.length !== 8 || groups.slice(0, 5).some((g) => g !== 0)) return undefined;
  if (groups[5] !== 0 && groups[5] !== 0xffff) return undefined;
  return (groups[6] ?? 0) * 0x10000 + (groups[7] ?? 0);
}

/**
 * WHATWG URL IPv4 parser (a superset of what inet_aton accepts): 1 to 4 dot-separated parts, each
 * decimal, octal (leading 0) or hex (0x); every part but the last is one byte, the last fills the rest.
 * One trailing dot is allowed. Returns the address as a 32-bit number, or undefined.
 */
function parseIpv4(input: string): number | undefined {
  const parts = input.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIpv4Number(part);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop() ?? 0;
  if (numbers.some((n) => n > 255)) return undefined;
  if (last >= 256 ** (5 - parts.length)) return undefined;
  return numbers.reduce((acc, n, i) => acc + n * 256 ** (3 - i), last);
}

function parseIpv4Number(part: string): number | undefined {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    // The URL parser reads a bare "0x" as zero.
    if (digits === "") return 0;
  } else if (part.length > 1 && part.startsWith("0")) {
    digits = part.slice(1);
    radix = 8;
  }
  const pattern = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(digits)) return undefined;
  // Precision is lost past 2^53, but such values are rejected as out of range anyway.
  return parseInt(digits, radix);
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses an IPv6 address (optionally with a %zone, which is dropped) into its eight 16-bit groups. */
function parseIpv6(input: string): number[] | undefined {
  const zone = input.indexOf("%");
  const address = zone === -1 ? input : input.slice(0, zone);
  // isIPv6 (inet_pton rules) does the validation; what follows only has to split a known-good address.
  if (!isIPv6(address)) return undefined;
  const toGroups = (side: string): number[] => {
    if (side === "") return [];
    const groups: number[] = [];
    for (const piece of side.split(":")) {
      if (piece.includes(".")) {
        const v4 = piece.split(".").map(Number);
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const gap = address.indexOf("::");
  if (gap === -1) return toGroups(address);
  const head = toGroups(address.slice(0, gap));
  const tail = toGroups(address.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952: lower-case hex without leading zeros, the first longest run of two or more zero groups as "::". */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
