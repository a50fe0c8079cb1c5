import { describe, expect, it } from "vitest";
import { parseCallbackAllowlist } from "../../../src/security/callback-allowlist.js";

describe("parseCallbackAllowlist: parsing", () => {
  it("treats the empty string and blank entries as nothing", () => {
    expect(parseCallbackAllowlist("").entries).toEqual([]);
    expect(parseCallbackAllowlist(" , ,").entries).toEqual([]);
    expect(parseCallbackAllowlist("").allowsHost("localhost", 80)).toBe(false);
    expect(parseCallbackAllowlist("").allowsAddress("127.0.0.1", 80)).toBe(false);
  });

  it("trims entries and keeps them as written", () => {
    const list = parseCallbackAllowlist(" hooks.internal , 10.0.0.0/8,[::1]:8080 ");
    expect(list.entries).toEqual(["hooks.internal", "10.0.0.0/8", "[::1]:8080"]);
  });

  it.each([
    "localhost",
    "Hooks.Internal",
    "hooks.internal.",
    "receiver_1.lan",
    "hooks.internal:8443",
    "10.0.0.5",
    "10.0.0.5:8080",
    "0x7f.1",
    "::1",
    "[::1]",
    "[::1]:8080",
    "fe80::1%eth0",
    "10.0.0.0/8",
    "10.1.2.3/8",
    "0.0.0.0/0",
    "fd00::/8",
    "[fd00::]/8",
    "::/0",
    "bücher.example",
  ])("accepts %s", (entry) => {
    expect(parseCallbackAllowlist(entry).entries).toEqual([entry]);
  });

  it.each([
    ["10.0.0.0/99", "prefix length must be 0 to 32"],
    ["fd00::/129", "prefix length must be 0 to 128"],
    ["10.0.0.0/", "prefix length"],
    ["10.0.0.0/-1", "prefix length"],
    ["10.0.0.0/8/8", "prefix length"],
    ["hooks.internal/8", "must start with an IP"],
    ["hooks.internal:0", "port must be 1 to 65535"],
    ["hooks.internal:65536", "port must be 1 to 65535"],
    ["hooks.internal:http", "port must be a number"],
    ["hooks.internal:", "port must be a number"],
    ["[::1]:", "port must be a number"],
    ["[hooks.internal]", "brackets"],
    ["[::1", "brackets"],
    ["http://hooks.internal", "not a URL"],
    ["hooks internal", "not a valid host name"],
    ["*.example.com", "not a valid host name"],
    ["256.0.0.1", "not a valid host name"],
    ["a..b", "not a valid host name"],
  ])("rejects %s, naming it", (entry, problem) => {
    expect(() => parseCallbackAllowlist(`ok.example, ${entry}`)).toThrow(`invalid RELAY_CALLBACK_ALLOWLIST entry "${entry}"`);
    expect(() => parseCallbackAllowlist(entry)).toThrow(problem);
  });

  it("throws a plain Error", () => {
    expect(() => parseCallbackAllowlist("10.0.0.0/99")).toThrow(Error);
  });
});

describe("CallbackAllowlist.allowsHost", () => {
  const list = parseCallbackAllowlist(
    "hooks.internal, receiver.lan:8443, bücher.example, 10.0.0.5, 10.0.0.6:8080, 192.168.0.0/16, [::1]:9000",
  );

  it("matches a host entry on any port, case-insensitively", () => {
    expect(list.allowsHost("hooks.internal", 80)).toBe(true);
    expect(list.allowsHost("hooks.internal", 12345)).toBe(true);
    expect(list.allowsHost("HOOKS.Internal", 443)).toBe(true);
    expect(list.allowsHost("hooks.internal.", 443)).toBe(true);
  });

  it("matches exactly: no subdomains, no suffixes", () => {
    expect(list.allowsHost("evil.hooks.internal", 80)).toBe(false);
    expect(list.allowsHost("hooks.internal.evil.com", 80)).toBe(false);
    expect(list.allowsHost("xhooks.internal", 80)).toBe(false);
  });

  it("matches a host:port entry only on that port", () => {
    expect(list.allowsHost("receiver.lan", 8443)).toBe(true);
    expect(list.allowsHost("receiver.lan", 443)).toBe(false);
  });

  it("matches IDN entries against the punycode URL.hostname", () => {
    expect(list.allowsHost(new URL("https://BÜCHER.example/").hostname, 443)).toBe(true);
  });

  it("answers for IP-literal hosts from the IP entries", () => {
    expect(list.allowsHost("10.0.0.5", 80)).toBe(true);
    expect(list.allowsHost("10.0.0.6", 8080)).toBe(true);
    expect(list.allowsHost("10.0.0.6", 80)).toBe(false);
    expect(list.allowsHost("192.168.7.7", 80)).toBe(true);
    expect(list.allowsHost(new URL("http://[::1]:9000/").hostname, 9000)).toBe(true);
    expect(list.allowsHost("[::1]", 80)).toBe(false);
    expect(list.allowsHost("10.0.0.7", 80)).toBe(false);
  });

  it("does not treat names as addresses or vice versa", () => {
    const names = parseCallbackAllowlist("localhost");
    expect(names.allowsHost("localhost", 3000)).toBe(true);
    expect(names.allowsAddress("127.0.0.1", 3000)).toBe(false);
    expect(names.allowsAddress("localhost", 3000)).toBe(false);
  });
});

describe("CallbackAllowlist.allowsAddress", () => {
  it("matches IP entries on any port, in any spelling", () => {
    const list = parseCallbackAllowlist("127.0.0.1, ::1");
    expect(list.allowsAddress("127.0.0.1", 80)).toBe(true);
    expect(list.allowsAddress("2130706433", 80)).toBe(true);
    expect(list.allowsAddress("::1", 443)).toBe(true);
    expect(list.allowsAddress("0:0:0:0:0:0:0:1", 443)).toBe(true);
    expect(list.allowsAddress("127.0.0.2", 80)).toBe(false);
  });

  it("matches ip:port entries only on that port", () => {
    const list = parseCallbackAllowlist("10.0.0.6:8080, [fd00::6]:8443");
    expect(list.allowsAddress("10.0.0.6", 8080)).toBe(true);
    expect(list.allowsAddress("10.0.0.6", 8081)).toBe(false);
    expect(list.allowsAddress("fd00::6", 8443)).toBe(true);
    expect(list.allowsAddress("fd00:0::6", 8443)).toBe(true);
    expect(list.allowsAddress("fd00::6", 443)).toBe(false);
  });

  it("matches IPv4 CIDRs, including ones written with host bits set", () => {
    const list = parseCallbackAllowlist("10.0.0.0/8, 172.16.5.9/24");
    expect(list.allowsAddress("10.255.255.255", 80)).toBe(true);
    expect(list.allowsAddress("11.0.0.0", 80)).toBe(false);
    expect(list.allowsAddress("172.16.5.200", 80)).toBe(true);
    expect(list.allowsAddress("172.16.6.1", 80)).toBe(false);
  });

  it("matches IPv6 CIDRs", () => {
    const list = parseCallbackAllowlist("fd00::/8");
    expect(list.allowsAddress("fd12:3456::1", 80)).toBe(true);
    expect(list.allowsAddress("fc00::1", 80)).toBe(false);
  });

  it("matches IPv4-mapped IPv6 addresses against IPv4 entries", () => {
    const list = parseCallbackAllowlist("10.0.0.0/8");
    expect(list.allowsAddress("::ffff:10.1.2.3", 80)).toBe(true);
  });

  it("never matches a name", () => {
    const list = parseCallbackAllowlist("0.0.0.0/0, ::/0");
    expect(list.allowsAddress("example.com", 80)).toBe(false);
    expect(list.allowsAddress("8.8.8.8", 80)).toBe(true);
  });
});
