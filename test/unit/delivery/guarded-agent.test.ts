import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildConnector, fetch, request, type Agent } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BlockedAddressError, createGuardedAgent, isBlockedAddressError } from "../../../src/security/guarded-agent.js";
import { parseCallbackAllowlist } from "../../../src/security/callback-allowlist.js";
import type { Resolver } from "../../../src/security/callback-url.js";
import { fakeResolver } from "../../support/fake-resolver.js";

// SAFETY: nothing here may send traffic anywhere but 127.0.0.1. Names resolve through a scripted
// resolver double; targets outside loopback only ever reach a connector spy that never opens a socket.

/** A connector that records what it was asked and fails without touching the network (unless told to pass through to loopback). */
function connectorSpy(
  behaviour: (opts: buildConnector.Options, callback: buildConnector.Callback, call: number) => void = failNoNetwork,
) {
  const calls: buildConnector.Options[] = [];
  const connector: buildConnector.connector = (opts, callback) => {
    calls.push({ ...opts });
    behaviour(opts, callback, calls.length);
  };
  return Object.assign(connector, { calls });
}

function failNoNetwork(_opts: buildConnector.Options, callback: buildConnector.Callback): void {
  queueMicrotask(() =>
    callback(Object.assign(new Error("connector spy: no network in tests"), { code: "SPY_NO_NETWORK" }), null),
  );
}

/** Loopback HTTP server counting TCP connections and recording Host headers. */
let server: Server;
let port: number;
let connections = 0;
const hostHeaders: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hostHeaders.push(req.headers.host ?? "");
    res.end("hello from loopback");
  });
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let agent: Agent | undefined;

afterEach(async () => {
  await agent?.close();
  agent = undefined;
  connections = 0;
  hostHeaders.length = 0;
});

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected the request to fail");
}

describe("createGuardedAgent: names resolving to loopback (real loopback server)", () => {
  it("refuses evil.test → 127.0.0.1 before any connection", async () => {
    const resolver = fakeResolver({ "evil.test": ["127.0.0.1"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver });
    const err = await rejection(request(`http://evil.test:${port}/`, { dispatcher: agent }));
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect(err).toMatchObject({ code: "RELAY_BLOCKED_ADDRESS", address: "127.0.0.1", hostname: "evil.test" });
    expect(isBlockedAddressError(err)).toBe(true);
    expect(connections).toBe(0);
    expect(resolver.calls).toEqual(["evil.test"]);
  });

  it.each(["127.0.0.1", "127.0.0.0/8", "evil.test", "EVIL.TEST"])(
    "connects when allowlisted by %s, keeping the Host header",
    async (entry) => {
      const resolver = fakeResolver({ "evil.test": ["127.0.0.1"] });
      agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(entry), resolver });
      const res = await request(`http://evil.test:${port}/hook`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe("hello from loopback");
      expect(connections).toBe(1);
      expect(hostHeaders).toEqual([`evil.test:${port}`]);
      // One lookup, at connect time: nothing resolves the name a second time.
      expect(resolver.calls).toEqual(["evil.test"]);
    },
  );

  it("connects when allowlisted by host:port, not on another port", async () => {
    const resolver = fakeResolver({ "evil.test": ["127.0.0.1"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(`evil.test:${port + 1}`), resolver });
    const err = await rejection(request(`http://evil.test:${port}/`, { dispatcher: agent }));
    expect(isBlockedAddressError(err)).toBe(true);
    expect(connections).toBe(0);
  });

  it("connects to an allowlisted loopback IP literal", async () => {
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(`127.0.0.1:${port}`), resolver: fakeResolver({}) });
    const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(connections).toBe(1);
  });

  it("refuses the same loopback IP literal when it is not allowlisted", async () => {
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver: fakeResolver({}) });
    const err = await rejection(request(`http://2130706433:${port}/`, { dispatcher: agent }));
    expect(isBlockedAddressError(err)).toBe(true);
    expect(connections).toBe(0);
  });

  it("surfaces through fetch() as the cause of a TypeError", async () => {
    const resolver = fakeResolver({ "evil.test": ["127.0.0.1"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver });
    const err = await rejection(fetch(`http://evil.test:${port}/`, { dispatcher: agent }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.cause).toBeInstanceOf(BlockedAddressError);
    expect(isBlockedAddressError(err)).toBe(true);
    expect(connections).toBe(0);
  });
});

describe("createGuardedAgent: never reaches the connector for blocked targets", () => {
  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::1]/",
    "http://[fd00::1]:8080/",
    "http://0x7f.1/",
    "http://0/",
    "https://192.168.1.1/",
    "http://[::ffff:169.254.169.254]/",
  ])("refuses %s", async (url) => {
    const connector = connectorSpy();
    const resolver = fakeResolver({});
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver, connector });
    const err = await rejection(request(url, { dispatcher: agent }));
    expect(isBlockedAddressError(err)).toBe(true);
    expect(connector.calls).toHaveLength(0);
    expect(resolver.calls).toEqual([]);
  });

  it("refuses http://2130706433:<port>/ (the loopback server's port)", async () => {
    const connector = connectorSpy();
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver: fakeResolver({}), connector });
    const err = await rejection(request(`http://2130706433:${port}/`, { dispatcher: agent }));
    expect(err).toMatchObject({ code: "RELAY_BLOCKED_ADDRESS", address: "127.0.0.1" });
    expect(connector.calls).toHaveLength(0);
    expect(connections).toBe(0);
  });

  it.each([
    [["93.184.216.34", "10.0.0.5"]],
    [["10.0.0.5", "93.184.216.34"]],
    [["2606:4700:4700::1111", "fe80::1"]],
    [["93.184.216.34", "::ffff:192.168.0.1"]],
    [["93.184.216.34", "64:ff9b::808:808"]],
  ])("refuses a name resolving to %j", async (addresses) => {
    const connector = connectorSpy();
    agent = createGuardedAgent({
      allowlist: parseCallbackAllowlist(""),
      resolver: fakeResolver({ "mixed.test": addresses }),
      connector,
    });
    const err = await rejection(request("https://mixed.test/cb", { dispatcher: agent }));
    expect(isBlockedAddressError(err)).toBe(true);
    expect(connector.calls).toHaveLength(0);
  });

  it("refuses localhost names without asking the resolver", async () => {
    const connector = connectorSpy();
    const resolver = fakeResolver({ localhost: ["93.184.216.34"], "app.localhost": ["93.184.216.34"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver, connector });
    for (const url of ["http://localhost/", "http://app.localhost:8080/"]) {
      expect(isBlockedAddressError(await rejection(request(url, { dispatcher: agent })))).toBe(true);
    }
    expect(connector.calls).toHaveLength(0);
    expect(resolver.calls).toEqual([]);
  });

  it("fails with the resolver's error when the name does not resolve", async () => {
    const connector = connectorSpy();
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver: fakeResolver({}), connector });
    const err = await rejection(request("https://gone.test/", { dispatcher: agent }));
    expect(err.code).toBe("ENOTFOUND");
    expect(isBlockedAddressError(err)).toBe(false);
    expect(connector.calls).toHaveLength(0);
  });

  it("fails with ENOTFOUND on an empty answer", async () => {
    const connector = connectorSpy();
    agent = createGuardedAgent({
      allowlist: parseCallbackAllowlist(""),
      resolver: fakeResolver({ "empty.test": [] }),
      connector,
    });
    expect((await rejection(request("https://empty.test/", { dispatcher: agent }))).code).toBe("ENOTFOUND");
    expect(connector.calls).toHaveLength(0);
  });

  it("bounds resolution with connectTimeoutMs", async () => {
    const connector = connectorSpy();
    const resolver = fakeResolver({ "slow.test": "hang" });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver, connector, connectTimeoutMs: 50 });
    const err = await rejection(request("https://slow.test/", { dispatcher: agent }));
    expect(err.code).toBe("UND_ERR_CONNECT_TIMEOUT");
    expect(connector.calls).toHaveLength(0);
  });
});

describe("createGuardedAgent: connects to the address it checked", () => {
  it("passes the checked address as hostname and keeps host/servername for TLS", async () => {
    const connector = connectorSpy();
    const resolver = fakeResolver({ "hooks.example.test": ["93.184.216.34"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver, connector });
    const err = await rejection(request("https://hooks.example.test/cb", { dispatcher: agent }));
    expect(err.code).toBe("SPY_NO_NETWORK");
    expect(connector.calls).toHaveLength(1);
    expect(connector.calls[0]).toMatchObject({
      hostname: "93.184.216.34",
      host: "hooks.example.test",
      servername: "hooks.example.test",
      protocol: "https:",
    });
  });

  it("passes public IP literals through in canonical form", async () => {
    const connector = connectorSpy();
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver: fakeResolver({}), connector });
    await rejection(request("http://[2606:4700:4700:0::1111]:8080/", { dispatcher: agent }));
    expect(connector.calls).toHaveLength(1);
    expect(connector.calls[0]).toMatchObject({ hostname: "2606:4700:4700::1111", port: "8080" });
  });

  it("resolves once per connection: a rebinding resolver cannot change the target after the check", async () => {
    let answers = 0;
    const rebinding: Resolver = async () => (answers++ === 0 ? ["93.184.216.34"] : ["127.0.0.1"]);
    const connector = connectorSpy();
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver: rebinding, connector });
    await rejection(request("http://rebind.test/", { dispatcher: agent }));
    expect(answers).toBe(1);
    expect(connector.calls.map((c) => c.hostname)).toEqual(["93.184.216.34"]);
  });

  it("moves on to the next checked address when one refuses, and only to checked ones", async () => {
    const real = buildConnector({ timeout: 2000 });
    // Fails the first address as unreachable; sends the second to the loopback server, never elsewhere.
    const connector = connectorSpy((opts, callback, call) => {
      if (call === 1) {
        queueMicrotask(() => callback(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), null));
        return;
      }
      real({ ...opts, hostname: "127.0.0.1", port: String(port) }, callback);
    });
    const resolver = fakeResolver({ "multi.test": ["2606:4700:4700::1111", "93.184.216.34"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver, connector });
    const res = await request(`http://multi.test:${port}/`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(connector.calls.map((c) => c.hostname)).toEqual(["2606:4700:4700::1111", "93.184.216.34"]);
    expect(hostHeaders).toEqual([`multi.test:${port}`]);
  });

  it("does not move on after other connect errors", async () => {
    const connector = connectorSpy();
    const resolver = fakeResolver({ "multi.test": ["93.184.216.34", "93.184.216.35"] });
    agent = createGuardedAgent({ allowlist: parseCallbackAllowlist(""), resolver, connector });
    await rejection(request("https://multi.test/", { dispatcher: agent }));
    expect(connector.calls).toHaveLength(1);
  });
});

describe("isBlockedAddressError", () => {
  const blocked = new BlockedAddressError("10.0.0.1", "evil.test");

  it("finds the error itself, in a cause chain, or in an AggregateError", () => {
    expect(isBlockedAddressError(blocked)).toBe(true);
    expect(isBlockedAddressError(new TypeError("fetch failed", { cause: new Error("wrapped", { cause: blocked }) }))).toBe(true);
    expect(isBlockedAddressError(new AggregateError([new Error("other"), blocked]))).toBe(true);
    expect(isBlockedAddressError({ code: "RELAY_BLOCKED_ADDRESS" })).toBe(true);
  });

  it("is false for anything else, and survives cycles", () => {
    const cyclic = new Error("a") as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    for (const value of [undefined, null, "RELAY_BLOCKED_ADDRESS", new Error("x"), cyclic, { code: "ECONNREFUSED" }]) {
      expect(isBlockedAddressError(value)).toBe(false);
    }
  });

  it("names the target in its message", () => {
    expect(blocked.message).toContain("evil.test");
    expect(blocked.message).toContain("10.0.0.1");
    expect(blocked.name).toBe("BlockedAddressError");
  });
});
