import { buildConnector } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGuardedAgent } from "../../src/security/guarded-agent.js";
import { parseCallbackAllowlist } from "../../src/security/callback-allowlist.js";
import type { Resolver } from "../../src/security/callback-url.js";
import { startWorld, type TestWorld } from "../support/relay-harness.js";

// SAFETY: every callback connection goes through a connector double that dials 127.0.0.1 only and refuses
// anything else without opening a socket, so even a broken guard could not reach a private or public address.

describe("SSRF guard at connect time", () => {
  let world: TestWorld;
  const dialled: string[] = [];
  let answers: Record<string, string[]> = {};
  const resolver: Resolver = async (name) => {
    const a = answers[name];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: "ENOTFOUND" });
    return a;
  };

  beforeAll(async () => {
    const real = buildConnector({});
    const connector: buildConnector.connector = (opts, callback) => {
      dialled.push(opts.hostname);
      if (opts.hostname === "127.0.0.1") return real(opts, callback);
      callback(new Error(`test connector refuses ${opts.hostname}`), null);
    };
    const allowlist = parseCallbackAllowlist("127.0.0.1");
    world = await startWorld({
      relay: { resolver, callbackDispatcher: createGuardedAgent({ allowlist, resolver, connector }) },
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("refuses a name that resolved to a public address at registration and to a private one at delivery (DNS rebinding)", async () => {
    answers = { "hooks.rebind.test": ["93.184.216.34"] };
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const watch = await world.watch({ job_id: jobId, callback_url: "http://hooks.rebind.test/hook" });
    answers = { "hooks.rebind.test": ["10.0.0.5"] };
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(failed.deliveries[0].attempts).toEqual([expect.objectContaining({ attempt: 1, error: "blocked", status_code: null })]);
    expect(failed.deliveries[0].last_error).toMatch(/^blocked/);
    expect(dialled).not.toContain("10.0.0.5");
    expect(dialled.every((h) => h === "127.0.0.1")).toBe(true);
  });

  it("refuses a name whose answers mix public and private addresses, at registration and at delivery", async () => {
    answers = { "mixed.test": ["93.184.216.34", "169.254.169.254"] };
    const res = await world.api("/v1/watches", {
      method: "POST",
      json: { job_id: "job_never", callback_url: "http://mixed.test/" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("callback_url_forbidden");

    answers = { "flip.test": ["93.184.216.34"] };
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    const watch = await world.watch({ job_id: jobId, callback_url: "http://flip.test/" });
    answers = { "flip.test": ["93.184.216.34", "127.0.0.2"] };
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(failed.deliveries[0].attempts.map((a: any) => a.error)).toEqual(["blocked"]);
    expect(dialled.every((h) => h === "127.0.0.1")).toBe(true);
  });

  it("never follows a redirect to an internal address", async () => {
    const jobId = world.rendley.addJob({ steps: ["completed"] });
    world.receiver.respond((req) =>
      req.body?.data?.job_id === jobId
        ? { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }
        : undefined,
    );
    const watch = await world.watch({ job_id: jobId, retry_schedule: "50ms" });
    const failed = await world.waitForWatch(watch.id, (w) => w.status === "failed");
    expect(failed.deliveries[0].attempts.map((a: any) => [a.status_code, a.error, a.location])).toEqual([
      [302, "redirect", "http://169.254.169.254/latest/meta-data/"],
      [302, "redirect", "http://169.254.169.254/latest/meta-data/"],
    ]);
    expect(dialled.every((h) => h === "127.0.0.1")).toBe(true);
    world.receiver.respond({});
  });
});

describe("RELAY_REQUIRE_HTTPS", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { RELAY_REQUIRE_HTTPS: "true" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it("refuses plain-http callback URLs", async () => {
    const res = await world.api("/v1/watches", {
      method: "POST",
      json: { job_id: "job_never", callback_url: world.receiver.url() },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "callback_url_invalid", message: expect.stringMatching(/https/) });
  });
});
