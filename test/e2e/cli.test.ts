import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliCaptured, type CliRun } from "../support/cli-run.js";
import { startWorld, TEST_API_KEY, TEST_SECRET, type TestWorld } from "../support/relay-harness.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ADMIN_KEY = "cli_admin_key_0123456789abcdefgh";
const ENCRYPTION_KEY = Buffer.alloc(32, 3).toString("base64");

describe("rendley-relay CLI against a running relay", () => {
  let world: TestWorld;
  let env: Record<string, string>;

  const cli = async (
    args: string[],
    options: { env?: Record<string, string | undefined>; stdin?: string } = {},
  ): Promise<CliRun> => {
    return runCliCaptured(args, { env: options.env ?? env, stdin: options.stdin });
  };

  const closedPort = async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  };

  beforeAll(async () => {
    world = await startWorld({ env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    env = { RELAY_URL: world.relay.url, RELAY_API_KEY: TEST_API_KEY, RELAY_ADMIN_KEY: ADMIN_KEY };
  });
  afterAll(async () => {
    await world?.close();
  });

  describe("help and usage", () => {
    it("prints help for the program and every group, exit 0", async () => {
      const top = await cli(["--help"]);
      expect(top.code).toBe(0);
      expect(top.stdout).toContain("Usage: rendley-relay");
      for (const command of [
        "serve",
        "migrate",
        "watch",
        "get",
        "list",
        "cancel",
        "redeliver",
        "export",
        "export-cost",
        "secret",
        "recover",
        "origins",
        "admin",
      ])
        expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
      expect(top.stdout).toContain("Exit codes");

      const keys = await cli(["admin", "keys", "--help"]);
      expect(keys.code).toBe(0);
      expect(keys.stdout).toMatch(/create .*<tenant_id>/);
      expect(keys.stdout).toMatch(/revoke .*<tenant_id> <key_id>/);

      const watch = await cli(["watch", "--help"]);
      expect(watch.stdout).toContain("--callback <url>");
      expect(watch.stdout).toContain("--idempotency-key <key>");
      expect(watch.stdout).toContain("--json");
      const rotate = await cli(["secret", "rotate", "--help"]);
      expect(rotate.stdout).toContain("--grace-period-s <seconds>");
    });

    it("exits 2 on usage errors, before calling the relay", async () => {
      const bogus = await cli(["list", "--bogus"]);
      expect(bogus.code).toBe(2);
      expect(bogus.stderr).toContain("unknown option '--bogus'");
      expect((await cli(["list", "--limit", "0"])).code).toBe(2);
      expect((await cli(["watch", "job_1"])).code).toBe(2); // --callback is required
      expect((await cli(["watch", "job_1", "--callback", "http://x", "--metadata", "[1]"])).code).toBe(2);
      expect((await cli(["watch", "job_1", "--callback", "http://x", "--event", "job.done"])).code).toBe(2);
      expect((await cli(["recover", "--since", "yesterday"])).code).toBe(2);
      expect((await cli(["list", "--all", "--cursor", "abc"])).code).toBe(2);
      expect((await cli(["watch", "job_1", "--callback", "http://x", "--idempotency-key", "a b"])).code).toBe(2);
      expect((await cli(["nonsense"])).code).toBe(2);
      expect((await cli(["admin"])).code).toBe(2); // a group without its command

      const noKey = await cli(["list"], { env: { RELAY_URL: world.relay.url } });
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toContain("RELAY_API_KEY");
    });

    it("exits 3 when the relay cannot be reached", async () => {
      const port = await closedPort();
      const run = await cli(["list"], { env: { ...env, RELAY_URL: `http://127.0.0.1:${port}` } });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/^error network_error: could not reach the relay at http:\/\/127\.0\.0\.1:\d+/);
      expect(run.stderr).not.toContain(TEST_API_KEY);
      const admin = await cli(["admin", "tenants", "list"], { env: { ...env, RELAY_URL: `http://127.0.0.1:${port}` } });
      expect(admin.code).toBe(3);
    });

    it("exits 1 with `error <code>: <message>` when the API refuses", async () => {
      const run = await cli(["get", "wch_does_not_exist"]);
      expect(run).toMatchObject({ code: 1, stdout: "" });
      expect(run.stderr).toBe("error not_found: watch not found\n");
      const wrongKey = await cli(["list"], { env: { ...env, RELAY_API_KEY: "rrk_wrong_key_0123456789" } });
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toMatch(/^error unauthorized: /);
      const invalid = await cli(["watch", "job 1", "--callback", world.receiver.url()]);
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toMatch(/^error validation_failed: /);
      expect(invalid.stderr).toContain("  job_id: ");
    });
  });

  describe("admin", () => {
    it("creates a tenant and keys, lists, revokes, disables and enables", async () => {
      const created = await cli(["admin", "tenants", "create", "--name", "cli tenant", "--json"]);
      expect(created.code).toBe(0);
      expect(created.stderr).toMatch(/shown once/);
      const tenantId = created.json.tenant.id as string;
      const firstKey = created.json.api_key.key as string;
      expect(tenantId).toMatch(/^ten_/);
      expect(created.json.tenant).toMatchObject({ name: "cli tenant", status: "active", rendley_key_set: false });
      expect(firstKey).toMatch(/^rrk_/);

      // The table form shows the one-time key too, with the warning on stderr.
      const table = await cli(["admin", "tenants", "create", "--name", "cli tenant 2"]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^api key +rrk_\S+$/m);
      expect(table.stderr).toContain("shown once");

      const list = await cli(["admin", "tenants", "list"]);
      expect(list.code).toBe(0);
      expect(list.stdout.split("\n")[0]).toMatch(/^ID +NAME +STATUS +RENDLEY KEY +CREATED +DISABLED$/);
      expect(list.stdout).toContain(tenantId);
      expect(list.stdout).toContain("cli tenant 2");
      const listJson = await cli(["admin", "tenants", "list", "--json"]);
      expect(listJson.json.map((t: any) => t.name)).toEqual(expect.arrayContaining(["default", "cli tenant", "cli tenant 2"]));
      expect((await cli(["admin", "tenants", "get", tenantId, "--json"])).json.id).toBe(tenantId);

      const key = await cli(["admin", "keys", "create", tenantId, "--label", "ci", "--json"]);
      expect(key.code).toBe(0);
      expect(key.stderr).toContain("shown once");
      expect(key.json).toMatchObject({ label: "ci", source: "admin", revoked_at: null });
      const secondKey = key.json.key as string;

      const keys = await cli(["admin", "keys", "list", tenantId]);
      expect(keys.code).toBe(0);
      expect(keys.stdout).toContain(key.json.id);
      expect(keys.stdout).toContain("ci");
      for (const k of [firstKey, secondKey]) expect(keys.stdout).not.toContain(k); // prefixes only

      // The new key works; revoked, it does not.
      const asTenant = { ...env, RELAY_API_KEY: secondKey };
      expect((await cli(["list", "--json"], { env: asTenant })).json).toEqual([]);
      const revoked = await cli(["admin", "keys", "revoke", tenantId, key.json.id, "--json"]);
      expect(revoked.code).toBe(0);
      expect(revoked.json.revoked_at).not.toBeNull();
      expect(revoked.stdout).not.toContain(secondKey);
      const refused = await cli(["list"], { env: asTenant });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error unauthorized: /);

      const disabled = await cli(["admin", "tenants", "disable", tenantId]);
      expect(disabled.code).toBe(0);
      expect(disabled.stdout).toMatch(/^status +disabled$/m);
      const blocked = await cli(["list"], { env: { ...env, RELAY_API_KEY: firstKey } });
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toMatch(/^error tenant_disabled: /);
      expect((await cli(["admin", "tenants", "enable", tenantId, "--json"])).json.status).toBe("active");
      expect((await cli(["list"], { env: { ...env, RELAY_API_KEY: firstKey } })).code).toBe(0);
    });

    it("sets a Rendley key from stdin and never prints it", async () => {
      const created = await cli(["admin", "tenants", "create", "--name", "keyed", "--json"]);
      const tenantId = created.json.tenant.id as string;
      const rendleyKey = "rk_from_stdin_0123456789";
      const set = await cli(["admin", "tenants", "set-rendley-key", tenantId, "--rendley-key", "-"], {
        stdin: `${rendleyKey}\n`,
      });
      expect(set.code).toBe(0);
      expect(set.stdout).toMatch(/^rendley key +set /m);
      expect(set.stdout + set.stderr).not.toContain(rendleyKey);
      const json = await cli(["admin", "tenants", "get", tenantId, "--json"]);
      expect(json.json.rendley_key_set).toBe(true);

      const empty = await cli(["admin", "tenants", "set-rendley-key", tenantId, "--rendley-key", "-"], { stdin: "" });
      expect(empty.code).toBe(2);
      const missing = await cli(["admin", "tenants", "get", "ten_nope"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe("error not_found: tenant not found\n");
    });

    it("needs the admin key", async () => {
      const run = await cli(["admin", "tenants", "list"], { env: { RELAY_URL: world.relay.url } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("RELAY_ADMIN_KEY");
      const wrong = await cli(["admin", "tenants", "list", "--admin-key", "not_the_admin_key_0123456789"]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^error unauthorized: /);
    });
  });

  describe("watches", () => {
    it("watches a job, then shows it with get and list, as tables and as JSON", async () => {
      const jobId = world.rendley.addJob({ steps: ["completed"] });
      const run = await cli([
        "watch",
        jobId,
        "--callback",
        world.receiver.url(),
        "--event",
        "job.completed,job.failed",
        "--metadata",
        '{"order_id":"ord_42"}',
        "--retry-schedule",
        "1s,2s",
        "--idempotency-key",
        `idem-${jobId}`,
        "--json",
      ]);
      expect(run.code).toBe(0);
      expect(run.json).toMatchObject({
        job_id: jobId,
        callback_url: world.receiver.url(),
        events: ["job.completed", "job.failed"],
        metadata: { order_id: "ord_42" },
        retry_schedule: "1s,2s",
      });
      const id = run.json.id as string;
      // The same Idempotency-Key and body: the same watch.
      const again = await cli(
        [
          "watch",
          jobId,
          "--callback",
          world.receiver.url(),
          "--event",
          "job.completed",
          "--event",
          "job.failed",
          "--metadata",
          '{"order_id":"ord_42"}',
          "--retry-schedule",
          "1s,2s",
          "--idempotency-key",
          `idem-${jobId}`,
          "--json",
        ],
        {},
      );
      expect(again.json.id).toBe(id);

      await world.waitForWatch(id, (w) => w.status === "delivered");

      const json = await cli(["get", id, "--json"]);
      expect(json.code).toBe(0);
      expect(json.json).toEqual((await world.api(`/v1/watches/${id}`)).body.data); // exactly the API's data
      const delivery = json.json.deliveries[0];

      const table = await cli(["get", id]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(new RegExp(`^watch +${id}$`, "m"));
      expect(table.stdout).toMatch(/^status +delivered$/m);
      expect(table.stdout).toMatch(new RegExp(`^job +${jobId} \\(completed\\)$`, "m"));
      expect(table.stdout).toMatch(/^retry schedule +1s,2s$/m);
      expect(table.stdout).toContain("deliveries:");
      expect(table.stdout).toMatch(new RegExp(`^${delivery.id} +job\\.completed +delivered +1 `, "m"));
      expect(table.stdout).toContain(`attempts of ${delivery.id} (job.completed):`);
      expect(table.stdout).toMatch(/^1 +scheduled +\S+ \S+ +200 +\d+ +- +- +/m);

      const list = await cli(["list"]);
      expect(list.code).toBe(0);
      expect(list.stdout.split("\n")[0]).toMatch(/^ID +STATUS +JOB +JOB STATUS +DELIVERIES +CREATED +CALLBACK$/);
      expect(list.stdout).toMatch(new RegExp(`^${id} +delivered +${jobId} +completed +1 delivered `, "m"));
      const filtered = await cli(["list", "--job", jobId, "--status", "delivered", "--json"]);
      expect(filtered.code).toBe(0);
      expect(filtered.json.map((w: any) => w.id)).toEqual([id]);
      expect((await cli(["list", "--job", jobId, "--status", "failed", "--json"])).json).toEqual([]);
      expect((await cli(["list", "--job", jobId, "--status", "failed"])).stdout).toBe("no watches\n");
    });

    it("pages through every watch with --all, and shows the cursor of a page that has more", async () => {
      const jobId = world.rendley.addJob({ steps: ["queued"] });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await world.watch({ job_id: jobId, metadata: { i } })).id);
      const all = await cli(["list", "--job", jobId, "--limit", "1", "--all", "--json"]);
      expect(all.code).toBe(0);
      expect(all.json.map((w: any) => w.id)).toEqual([...ids].reverse());
      const page = await cli(["list", "--job", jobId, "--limit", "2", "--json"]);
      expect(page.json).toHaveLength(2);
      const cursor = /--cursor (\S+)/.exec(page.stderr)?.[1];
      expect(cursor).toBeDefined();
      const next = await cli(["list", "--job", jobId, "--limit", "2", "--cursor", cursor!, "--json"]);
      expect(next.json.map((w: any) => w.id)).toEqual([ids[0]]);
      expect(next.stderr).toBe("");
    });

    it("cancels a watch (and refuses a finished one), redelivers a delivered one", async () => {
      const running = world.rendley.addJob({ steps: ["processing"] });
      const watching = await world.watch({ job_id: running });
      const canceled = await cli(["cancel", watching.id]);
      expect(canceled.code).toBe(0);
      expect(canceled.stdout).toMatch(/^status +canceled$/m);
      const twice = await cli(["cancel", watching.id]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/^error watch_finished: /);

      const running2 = world.rendley.addJob({ steps: ["processing"] });
      const withJob = await world.watch({ job_id: running2 });
      const jobCanceled = await cli(["cancel", withJob.id, "--cancel-job", "--json"]);
      expect(jobCanceled.code).toBe(0);
      expect(jobCanceled.json).toMatchObject({ id: withJob.id, status: "canceled" });
      expect(["canceled", "already_finished", "error"]).toContain(jobCanceled.json.upstream_cancel);

      const done = world.rendley.addJob({ steps: ["completed"] });
      const finished = await world.watch({ job_id: done });
      await world.waitForWatch(finished.id, (w) => w.status === "delivered");
      const redelivered = await cli(["redeliver", finished.id, "--json"]);
      expect(redelivered.code).toBe(0);
      expect(redelivered.json.id).toBe(finished.id);
      const active = await cli(["redeliver", (await world.watch({ job_id: running })).id]);
      expect(active.code).toBe(1);
      expect(active.stderr).toMatch(/^error watch_active: /);
    });
  });

  describe("export", () => {
    it("starts an export and watches its job, from inline JSON, a file or stdin; prices one with export-cost", async () => {
      const run = await cli([
        "export",
        '{"project_id":"prj_cli","settings":{"codec":"h264"}}',
        "--callback",
        world.receiver.url(),
        "--metadata",
        '{"order_id":"ord_7"}',
        "--idempotency-key",
        "cli-export-1",
        "--json",
      ]);
      expect(run.code).toBe(0);
      expect(run.json.watch).toMatchObject({
        job_id: run.json.job_id,
        callback_url: world.receiver.url(),
        metadata: { order_id: "ord_7" },
      });
      // Rendley got its own fields only, with the tenant's Rendley key; the watch fields stayed with the relay.
      const sent = world.rendley.calls("POST", "/v1/export").at(-1)!;
      expect(JSON.parse(sent.body)).toEqual({ project_id: "prj_cli", settings: { codec: "h264" } });
      await world.waitForWatch(run.json.watch.id as string, (w) => w.status === "delivered");

      const dir = mkdtempSync(join(tmpdir(), "relay-cli-"));
      const file = join(dir, "export.json");
      writeFileSync(file, '{"project_id":"prj_file"}');
      const fromFile = await cli(["export", `@${file}`, "--callback", world.receiver.url()]);
      expect(fromFile.code).toBe(0);
      expect(fromFile.stdout).toMatch(/^watch +wch_/m);
      expect(JSON.parse(world.rendley.calls("POST", "/v1/export").at(-1)!.body)).toEqual({ project_id: "prj_file" });
      rmSync(dir, { recursive: true, force: true });

      const fromStdin = await cli(["export", "-", "--callback", world.receiver.url(), "--json"], {
        stdin: '{"project_id":"prj_in"}',
      });
      expect(fromStdin.code).toBe(0);
      expect(JSON.parse(world.rendley.calls("POST", "/v1/export").at(-1)!.body)).toEqual({ project_id: "prj_in" });

      const cost = await cli(["export-cost", '{"project_id":"prj_cli"}']);
      expect(cost.code).toBe(0);
      expect(JSON.parse(cost.stdout)).toEqual({ data: { credits: 10 } });
    });

    it("refuses a body that is not a JSON object before calling the relay, and passes Rendley's refusal on", async () => {
      const before = world.rendley.calls("POST", "/v1/export").length;
      for (const body of ["[1]", "not json", "@/nonexistent/export.json"]) {
        const run = await cli(["export", body, "--callback", world.receiver.url()]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/<body>: /);
      }
      expect(world.rendley.calls("POST", "/v1/export")).toHaveLength(before);

      world.rendley.enqueueExport({
        status: 402,
        json: { error: { code: "insufficient_credits", message: "not enough credits" } },
      });
      const refused = await cli(["export", "{}", "--callback", world.receiver.url()]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error upstream_error: Rendley refused the request \(402\)/);
    });
  });

  describe("signing secret, recovery, origins", () => {
    it("shows the signing secret, recovers deliveries and lists origins", async () => {
      const secret = await cli(["secret", "--json"]);
      expect(secret.code).toBe(0);
      expect(secret.json).toEqual({ secret: TEST_SECRET, previous_expires_at: null });
      expect((await cli(["secret"])).stdout).toMatch(new RegExp(`^secret +${TEST_SECRET.replace(/[+/=]/g, "\\$&")}$`, "m"));

      const recover = await cli(["recover", "--since", "2020-01-01T00:00:00Z"]);
      expect(recover.code).toBe(0);
      expect(recover.stdout).toMatch(/^queued \d+ deliver(y|ies) again\n$/);
      expect(
        (await cli(["recover", "--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z", "--json"])).json,
      ).toEqual({
        queued: 0,
      });
      const backwards = await cli(["recover", "--since", "2020-01-02T00:00:00Z", "--until", "2020-01-01T00:00:00Z"]);
      expect(backwards.code).toBe(1);
      expect(backwards.stderr).toMatch(/^error validation_failed: since: /);

      const origins = await cli(["origins", "--json"]);
      expect(origins.code).toBe(0);
      expect(Array.isArray(origins.json)).toBe(true);
    });

    it("rotates the secret of another tenant", async () => {
      const created = await cli(["admin", "tenants", "create", "--name", "rotating", "--json"]);
      const asTenant = { ...env, RELAY_API_KEY: created.json.api_key.key as string };
      const before = (await cli(["secret", "--json"], { env: asTenant })).json.secret as string;
      const rotated = await cli(["secret", "rotate", "--grace-period-s", "60", "--json"], { env: asTenant });
      expect(rotated.code).toBe(0);
      expect(rotated.json.secret).toMatch(/^whsec_/);
      expect(rotated.json.secret).not.toBe(before);
      expect(rotated.json.previous_expires_at).not.toBeNull();
      expect((await cli(["secret", "--json"], { env: asTenant })).json.secret).toBe(rotated.json.secret);
    });
  });

  it("takes RELAY_URL and the keys from the process environment when none is given", async () => {
    const saved = { url: process.env.RELAY_URL, key: process.env.RELAY_API_KEY };
    process.env.RELAY_URL = world.relay.url;
    process.env.RELAY_API_KEY = TEST_API_KEY;
    try {
      const run = await runCliCaptured(["origins", "--json"]);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual(expect.any(Array));
    } finally {
      if (saved.url === undefined) delete process.env.RELAY_URL;
      else process.env.RELAY_URL = saved.url;
      if (saved.key === undefined) delete process.env.RELAY_API_KEY;
      else process.env.RELAY_API_KEY = saved.key;
    }
  });

  it("runs as its own process (node --import tsx src/cli/main.ts)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--help"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "" },
      timeout: 20_000,
    });
    expect(stdout).toContain("Usage: rendley-relay");
    expect(stdout).toContain("admin");
  });
});
