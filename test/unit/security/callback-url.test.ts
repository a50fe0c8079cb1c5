import { describe, expect, it } from "vitest";
import { parseCallbackAllowlist } from "../../../src/security/callback-allowlist.js";
import { checkCallbackUrl, type CallbackUrlCheck } from "../../../src/security/callback-url.js";
import { dnsError, fakeResolver } from "../../support/fake-resolver.js";

const noAllowlist = parseCallbackAllowlist("");

function problem(check: CallbackUrlCheck): string | undefined {
  return check.ok ? undefined : check.code;
}

describe("checkCallbackUrl: URL shape", () => {
  const resolver = fakeResolver({ "hooks.example.com": ["93.184.216.34"] });

  it.each([
    ["not a url", "not a valid absolute URL"],
    ["/relative/path", "not a valid absolute URL"],
    ["http://", "not a valid absolute URL"],
    ["ftp://hooks.example.com/x", "must use http or https"],
    ["file:///etc/passwd", "must use http or https"],
    ["javascript:alert(1)", "must use http or https"],
    ["gopher://hooks.example.com/", "must use http or https"],
    ["http://user:pass@hooks.example.com/", "username or password"],
    ["https://user@hooks.example.com/", "username or password"],
    ["https://:secret@hooks.example.com/", "username or password"],
  ])("refuses %s as invalid", async (raw, message) => {
    const check = await checkCallbackUrl(raw, { allowlist: noAllowlist, resolver });
    expect(check).toMatchObject({ ok: false, code: "callback_url_invalid" });
    expect(check.ok ? "" : check.message).toContain(message);
  });

  it("refuses URLs longer than 2048 characters, accepts 2048", async () => {
    const prefix = "https://hooks.example.com/";
    const exactly = prefix + "a".repeat(2048 - prefix.length);
    expect(await checkCallbackUrl(exactly, { allowlist: noAllowlist, resolver })).toMatchObject({ ok: true });
    const tooLong = await checkCallbackUrl(exactly + "a", { allowlist: noAllowlist, resolver });
    expect(problem(tooLong)).toBe("callback_url_invalid");
  });

  it("accepts http and https, and returns the parsed URL", async () => {
    const check = await checkCallbackUrl("https://hooks.example.com/cb?token=1", { allowlist: noAllowlist, resolver });
    expect(check.ok && check.url.href).toBe("https://hooks.example.com/cb?token=1");
    expect(await checkCallbackUrl("http://hooks.example.com/cb", { allowlist: noAllowlist, resolver })).toMatchObject({
      ok: true,
    });
  });

  it("requires https when asked to", async () => {
    const http = await checkCallbackUrl("http://hooks.example.com/cb", { allowlist: noAllowlist, resolver, requireHttps: true });
    expect(http).toMatchObject({ ok: false, code: "callback_url_invalid", message: expect.stringContaining("https") });
    const https = await checkCallbackUrl("https://hooks.example.com/cb", {
      allowlist: noAllowlist,
      resolver,
      requireHttps: true,
    });
    expect(https.ok).toBe(true);
  });
});

describe("checkCallbackUrl: blocked targets", () => {
  it.each([
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://169.254.169.254/",
    "http://10.0.0.1:8080/",
    "http://0.0.0.0/",
    "http://[fd00::1]/",
    "http://localhost:3000/",
    "http://LOCALHOST./",
    "http://api.localhost/",
  ])("refuses %s without resolving", async (raw) => {
    const resolver = fakeResolver({ localhost: ["8.8.8.8"], "api.localhost": ["8.8.8.8"] });
    const check = await checkCallbackUrl(raw, { allowlist: noAllowlist, resolver });
    expect(problem(check)).toBe("callback_url_forbidden");
    expect(resolver.calls).toEqual([]);
  });

  it("refuses a name that resolves to a private address", async () => {
    const resolver = fakeResolver({ "evil.test": ["10.0.0.5"] });
    const check = await checkCallbackUrl("https://evil.test/cb", { allowlist: noAllowlist, resolver });
    expect(problem(check)).toBe("callback_url_forbidden");
    expect(resolver.calls).toEqual(["evil.test"]);
  });

  it.each([
    [["93.184.216.34", "10.0.0.5"]],
    [["10.0.0.5", "93.184.216.34"]],
    [["2606:4700:4700::1111", "::1"]],
    [["93.184.216.34", "::ffff:127.0.0.1"]],
  ])("refuses a name resolving to a mix of public and private addresses %j", async (addresses) => {
    const resolver = fakeResolver({ "mixed.test": addresses });
    const check = await checkCallbackUrl("https://mixed.test/cb", { allowlist: noAllowlist, resolver });
    expect(problem(check)).toBe("callback_url_forbidden");
  });

  it("accepts a name resolving only to public addresses", async () => {
    const resolver = fakeResolver({ "hooks.example.com": ["93.184.216.34", "2606:4700:4700::1111"] });
    const check = await checkCallbackUrl("https://Hooks.Example.com/cb", { allowlist: noAllowlist, resolver });
    expect(check.ok).toBe(true);
    expect(resolver.calls).toEqual(["hooks.example.com"]);
  });

  it("accepts public IP literals without resolving", async () => {
    const resolver = fakeResolver({});
    for (const raw of ["http://8.8.8.8/", "https://1.1.1.1:8443/", "https://[2606:4700:4700::1111]/"]) {
      expect(await checkCallbackUrl(raw, { allowlist: noAllowlist, resolver })).toMatchObject({ ok: true });
    }
    expect(resolver.calls).toEqual([]);
  });

  it("keeps the query string and resolved addresses out of messages", async () => {
    const resolver = fakeResolver({ "evil.test": ["10.0.0.5"] });
    const check = await checkCallbackUrl("https://evil.test/cb?token=s3cret", { allowlist: noAllowlist, resolver });
    expect(check.ok).toBe(false);
    const message = check.ok ? "" : check.message;
    expect(message).toContain("evil.test");
    expect(message).not.toContain("s3cret");
    expect(message).not.toContain("10.0.0.5");
  });
});

describe("checkCallbackUrl: allowlist", () => {
  it("accepts an allowlisted loopback name, on the allowlisted port only", async () => {
    const resolver = fakeResolver({ localhost: ["127.0.0.1", "::1"] });
    const allowlist = parseCallbackAllowlist("localhost:3000");
    expect(await checkCallbackUrl("http://localhost:3000/cb", { allowlist, resolver })).toMatchObject({ ok: true });
    expect(problem(await checkCallbackUrl("http://localhost:3001/cb", { allowlist, resolver }))).toBe("callback_url_forbidden");
  });

  it("accepts allowlisted loopback IP literals", async () => {
    const allowlist = parseCallbackAllowlist("127.0.0.1, [::1]:8080");
    const resolver = fakeResolver({});
    expect(await checkCallbackUrl("http://127.0.0.1:9999/", { allowlist, resolver })).toMatchObject({ ok: true });
    expect(await checkCallbackUrl("http://2130706433/", { allowlist, resolver })).toMatchObject({ ok: true });
    expect(await checkCallbackUrl("http://[::1]:8080/", { allowlist, resolver })).toMatchObject({ ok: true });
    expect(problem(await checkCallbackUrl("http://[::1]:8081/", { allowlist, resolver }))).toBe("callback_url_forbidden");
  });

  it("applies the default port of the scheme", async () => {
    const allowlist = parseCallbackAllowlist("10.0.0.5:443");
    const resolver = fakeResolver({});
    expect(await checkCallbackUrl("https://10.0.0.5/", { allowlist, resolver })).toMatchObject({ ok: true });
    expect(problem(await checkCallbackUrl("http://10.0.0.5/", { allowlist, resolver }))).toBe("callback_url_forbidden");
  });

  it("accepts a name whose private addresses are each allowlisted", async () => {
    const resolver = fakeResolver({
      "hooks.internal": ["10.1.2.3", "93.184.216.34"],
      "leaky.internal": ["10.1.2.3", "192.168.0.1"],
    });
    const allowlist = parseCallbackAllowlist("10.0.0.0/8");
    expect(await checkCallbackUrl("http://hooks.internal/", { allowlist, resolver })).toMatchObject({ ok: true });
    expect(problem(await checkCallbackUrl("http://leaky.internal/", { allowlist, resolver }))).toBe("callback_url_forbidden");
  });

  it("trusts an allowlisted host name whatever it resolves to", async () => {
    const resolver = fakeResolver({ "hooks.internal": ["10.1.2.3", "192.168.0.1"] });
    const allowlist = parseCallbackAllowlist("hooks.internal");
    expect(await checkCallbackUrl("http://hooks.internal:8080/", { allowlist, resolver })).toMatchObject({ ok: true });
  });
});

describe("checkCallbackUrl: resolution failures", () => {
  it.each(["ENOTFOUND", "ENODATA"])("reports %s as unresolvable", async (code) => {
    const resolver = fakeResolver({ "gone.example.com": dnsError(code, "gone.example.com") });
    const check = await checkCallbackUrl("https://gone.example.com/cb", { allowlist: noAllowlist, resolver });
    expect(problem(check)).toBe("callback_url_unresolvable");
  });

  it("reports an empty answer as unresolvable", async () => {
    const resolver = fakeResolver({ "empty.example.com": [] });
    const check = await checkCallbackUrl("https://empty.example.com/cb", { allowlist: noAllowlist, resolver });
    expect(problem(check)).toBe("callback_url_unresolvable");
  });

  it.each(["EAI_AGAIN", "ETIMEOUT", "ESERVFAIL", "ECONNREFUSED"])(
    "lets %s through: the connect-time guard checks again",
    async (code) => {
      const resolver = fakeResolver({ "flaky.example.com": dnsError(code, "flaky.example.com") });
      const check = await checkCallbackUrl("https://flaky.example.com/cb", { allowlist: noAllowlist, resolver });
      expect(check.ok).toBe(true);
    },
  );

  it("lets a resolution slower than resolveTimeoutMs through", async () => {
    const resolver = fakeResolver({ "slow.example.com": "hang" });
    const started = Date.now();
    const check = await checkCallbackUrl("https://slow.example.com/cb", {
      allowlist: noAllowlist,
      resolver,
      resolveTimeoutMs: 50,
    });
    expect(check.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
