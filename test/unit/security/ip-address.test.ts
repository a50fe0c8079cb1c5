import { describe, expect, it } from "vitest";
import { isBlockedAddress, parseHost } from "../../../src/security/ip-address.js";

// [range, an address inside, the address just below the range, the address just above it]
const IPV4_RANGES: ReadonlyArray<readonly [string, string, string | undefined, string]> = [
  ["0.0.0.0/8", "0.255.255.255", undefined, "1.0.0.0"],
  ["10.0.0.0/8", "10.20.30.40", "9.255.255.255", "11.0.0.0"],
  ["100.64.0.0/10", "100.100.1.1", "100.63.255.255", "100.128.0.0"],
  ["127.0.0.0/8", "127.0.0.1", "126.255.255.255", "128.0.0.0"],
  ["169.254.0.0/16", "169.254.169.254", "169.253.255.255", "169.255.0.0"],
  ["172.16.0.0/12", "172.31.255.255", "172.15.255.255", "172.32.0.0"],
  ["192.0.0.0/24", "192.0.0.8", "191.255.255.255", "192.0.1.0"],
  ["192.0.2.0/24", "192.0.2.1", "192.0.1.255", "192.0.3.0"],
  ["192.168.0.0/16", "192.168.1.1", "192.167.255.255", "192.169.0.0"],
  ["198.18.0.0/15", "198.19.255.255", "198.17.255.255", "198.20.0.0"],
  ["198.51.100.0/24", "198.51.100.7", "198.51.99.255", "198.51.101.0"],
  ["203.0.113.0/24", "203.0.113.9", "203.0.112.255", "203.0.114.0"],
  ["224.0.0.0/4", "239.255.255.250", "223.255.255.255", "240.0.0.0"], // 240 is in the next blocked range
  ["240.0.0.0/4", "250.1.2.3", "239.255.255.255", "255.255.255.255"], // ditto: both neighbours blocked
];

// Outside-neighbours that are themselves in another blocked range.
const ALSO_BLOCKED = new Set(["0.255.255.255", "240.0.0.0", "239.255.255.255", "255.255.255.255"]);

describe("isBlockedAddress: IPv4 ranges", () => {
  it.each(IPV4_RANGES)("%s blocks %s", (_range, inside) => {
    expect(isBlockedAddress(inside)).toBe(true);
  });

  it.each(
    IPV4_RANGES.flatMap(([range, , below, above]) =>
      [below, above].filter((a) => a !== undefined).map((a) => [range, a] as const),
    ),
  )("%s: neighbour %s", (_range, outside) => {
    expect(isBlockedAddress(outside)).toBe(ALSO_BLOCKED.has(outside));
  });

  it("blocks the limited broadcast address", () => {
    expect(isBlockedAddress("255.255.255.255")).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "172.32.0.1", "223.255.255.255"])(
    "allows public %s",
    (address) => {
      expect(isBlockedAddress(address)).toBe(false);
    },
  );
});

describe("isBlockedAddress: IPv6", () => {
  it.each([
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fc00::1", "unique local"],
    ["fdff:ffff::1", "unique local"],
    ["fe80::1", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["fe80::1%eth0", "link-local with zone"],
    ["ff02::1", "multicast"],
    ["64:ff9b::a00:1", "NAT64"],
    ["64:ff9b::808:808", "NAT64, even of a public IPv4"],
    ["2001:db8::1", "documentation"],
    ["2002:c000:204::1", "6to4"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:169.254.169.254", "IPv4-mapped metadata"],
    ["::ffff:10.0.0.1", "IPv4-mapped private"],
    ["::127.0.0.1", "IPv4-compatible loopback"],
    ["::7f00:1", "IPv4-compatible loopback, hex"],
    ["::a9fe:a9fe", "IPv4-compatible metadata"],
    ["0:0:0:0:0:ffff:c0a8:101", "IPv4-mapped, uncompressed"],
    ["::FFFF:C0A8:0101", "IPv4-mapped, upper case"],
  ])("blocks %s (%s)", (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each([
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "fbff:ffff::1", // just below fc00::/7
    "fe00::1", // just above fc00::/7, below fe80::/10
    "64:ff9a::1",
    "2001:db9::1",
    "2003::1",
    "::ffff:8.8.8.8", // mapped public
    "::ffff:808:808",
  ])("allows %s", (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe("isBlockedAddress: fails closed", () => {
  it.each(["", "not-an-ip", "example.com", "1.2.3.4.5", "256.0.0.1", "[::1", "::g", "1.2.3.4/8"])("blocks %j", (input) => {
    expect(isBlockedAddress(input)).toBe(true);
  });
});

// Every spelling of 127.0.0.1 the URL parser and inet_aton accept.
const LOOPBACK_SPELLINGS = [
  "2130706433",
  "0x7f.1",
  "0177.0.0.1",
  "127.1",
  "0x7f000001",
  "127.0.1",
  "0x7F.0.0.1",
  "127.0.0.1.",
  "017700000001",
];

describe("parseHost", () => {
  it.each(LOOPBACK_SPELLINGS)("normalises raw %s to 127.0.0.1", (spelling) => {
    expect(parseHost(spelling)).toEqual({ kind: "ipv4", address: "127.0.0.1" });
    expect(isBlockedAddress(spelling)).toBe(true);
  });

  it.each(LOOPBACK_SPELLINGS)("agrees with new URL() for %s", (spelling) => {
    const { hostname } = new URL(`http://${spelling}/`);
    expect(parseHost(hostname)).toEqual({ kind: "ipv4", address: "127.0.0.1" });
    expect(isBlockedAddress(hostname)).toBe(true);
  });

  it.each([
    ["[::1]", "::1"],
    ["[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe"],
    ["[::ffff:127.0.0.1]", "::ffff:7f00:1"],
    ["[::127.0.0.1]", "::7f00:1"],
    ["[2606:4700:4700:0:0:0:0:1111]", "2606:4700:4700::1111"],
    ["[FE80:0000::0001]", "fe80::1"],
    ["[2001:db8:0:0:1:0:0:1]", "2001:db8::1:0:0:1"], // first of two equally long zero runs
    ["[1:0:2:3:4:5:6:7]", "1:0:2:3:4:5:6:7"], // a lone zero group is not compressed
  ])("parses %s as IPv6 %s, raw and through new URL()", (bracketed, canonical) => {
    expect(parseHost(bracketed)).toEqual({ kind: "ipv6", address: canonical });
    expect(parseHost(bracketed.slice(1, -1))).toEqual({ kind: "ipv6", address: canonical });
    expect(parseHost(new URL(`http://${bracketed}/`).hostname)).toEqual({ kind: "ipv6", address: canonical });
  });

  it.each(["[::1]", "[::ffff:169.254.169.254]", "[::ffff:7f00:1]", "[::127.0.0.1]"])(
    "blocks %s given bracketed or via URL",
    (bracketed) => {
      expect(isBlockedAddress(bracketed)).toBe(true);
      expect(isBlockedAddress(new URL(`http://${bracketed}/`).hostname)).toBe(true);
    },
  );

  it("drops an IPv6 zone", () => {
    expect(parseHost("fe80::1%eth0")).toEqual({ kind: "ipv6", address: "fe80::1" });
  });

  it.each([
    ["8.8.8.8", "8.8.8.8"],
    ["0x08080808", "8.8.8.8"],
    ["134744072", "8.8.8.8"],
    ["1.1", "1.0.0.1"],
    ["0", "0.0.0.0"],
    ["0x", "0.0.0.0"], // the URL parser reads a bare 0x as zero
  ])("parses %s as %s", (input, address) => {
    expect(parseHost(input)).toEqual({ kind: "ipv4", address });
  });

  it.each([
    ["Example.COM", "example.com"],
    ["example.com.", "example.com"],
    ["LOCALHOST", "localhost"],
    ["1.2.3.4.5", "1.2.3.4.5"],
    ["256.1.1.1", "256.1.1.1"],
    ["08.1.1.1", "08.1.1.1"], // 8 is not an octal digit
    ["4294967296", "4294967296"], // one past 255.255.255.255
    ["1.2.3.foo", "1.2.3.foo"],
    ["[not-v6]", "[not-v6]"],
  ])("treats %s as the name %s", (input, name) => {
    expect(parseHost(input)).toEqual({ kind: "name", name });
  });
});
