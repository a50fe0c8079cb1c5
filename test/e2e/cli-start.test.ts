import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliCaptured, type CliRun } from "../support/cli-run.js";
import { queueFull } from "../support/fake-rendley.js";
import { startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";

describe("rendley-relay start and cost against a running relay", () => {
  let world: TestWorld;
  let env: Record<string, string>;
  let dir: string;

  const cli = async (args: string[], options: { stdin?: string } = {}): Promise<CliRun> => {
    return runCliCaptured(args, { env, stdin: options.stdin });
  };
  const startCalls = () =>
    world.rendley.requests.filter((r) => r.method === "POST" && /^\/v1\/(export|ai|agent)/.test(r.path)).length;

  beforeAll(async () => {
    world = await startWorld();
    env = { RELAY_URL: world.relay.url, RELAY_API_KEY: TEST_API_KEY };
    dir = mkdtempSync(join(tmpdir(), "relay-cli-start-"));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await world?.close();
  });

  it("lists start and cost, and documents their targets and options", async () => {
    const top = await cli(["--help"]);
    expect(top.stdout).toMatch(/^ {2}start\b/m);
    expect(top.stdout).toMatch(/^ {2}cost\b/m);
    expect(top.stdout).toMatch(/^ {2}export\b/m); // the old commands stay
    const start = await cli(["start", "--help"]);
    expect(start.code).toBe(0);
    for (const text of ["<target>", "ai/<action>", "agent", "--callback-url <url>", "--body <json>", "--body-file <path>"])
      expect(start.stdout).toContain(text);
    expect(start.stdout).toContain("--idempotency-key <key>");
    expect(start.stdout).toContain("Examples:");
    const cost = await cli(["cost", "--help"]);
    expect(cost.stdout).toContain("export or ai/<action>");
  });

  it("starts an AI job with --body and watches it; a repeated --idempotency-key answers the same job", async () => {
    const body = { project_id: "prj_cli_ai", params: { language: "de" } };
    const args = ["start", "ai/transcribe", "--callback-url", world.receiver.url(), "--body", JSON.stringify(body)];
    const run = await cli([...args, "--metadata", '{"order_id":"ord_cli"}', "--idempotency-key", "cli-ai-1", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.watch).toMatchObject({ job_id: run.json.job_id, service: "api", metadata: { order_id: "ord_cli" } });
    expect(JSON.parse(world.rendley.calls("POST", "/v1/ai/transcribe").at(-1)!.body)).toEqual(body);

    const before = startCalls();
    const again = await cli([...args, "--metadata", '{"order_id":"ord_cli"}', "--idempotency-key", "cli-ai-1", "--json"]);
    expect([again.code, again.json.job_id, again.json.watch.id]).toEqual([0, run.json.job_id, run.json.watch.id]);
    expect(startCalls()).toBe(before);
    await world.waitForWatch(run.json.watch.id as string, (w) => w.status === "delivered");
  });

  it("starts an agent job from --body-file and an export from stdin, printing the watch", async () => {
    const file = join(dir, "agent.json");
    writeFileSync(file, '{"prompt":"Add captions","project_id":"prj_cli_agent"}');
    const agent = await cli(["start", "agent", "--callback-url", world.receiver.url(), "--body-file", file, "--json"]);
    expect(agent.code, agent.stderr).toBe(0);
    expect(agent.json.watch.service).toBe("agent");
    expect(world.rendley.calls("POST", "/v1/agent", "agent")).toHaveLength(1);

    const exported = await cli(["start", "export", "--callback-url", world.receiver.url(), "--body-file", "-"], {
      stdin: '{"project_id":"prj_cli_stdin"}',
    });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^watch +wch_/m);
    expect(JSON.parse(world.rendley.calls("POST", "/v1/export").at(-1)!.body)).toEqual({ project_id: "prj_cli_stdin" });

    // `--callback`, as `watch` and `export` spell it, works too.
    const alias = await cli(["start", "export", "--callback", world.receiver.url(), "--body", "{}", "--json"]);
    expect(alias.code, alias.stderr).toBe(0);
  });

  it("prints Rendley's price as Rendley answered it", async () => {
    world.rendley.setAiCostShape("number");
    try {
      const ai = await cli(["cost", "ai/generate-image", "--body", '{"project_id":"prj_cli"}']);
      expect([ai.code, ai.json]).toEqual([0, 12]);
    } finally {
      world.rendley.setAiCostShape("data");
    }
    const exported = await cli(["cost", "export", "--body", '{"project_id":"prj_cli"}']);
    expect([exported.code, exported.json]).toEqual([0, { data: { credits: 10 } }]);
    expect(JSON.parse(world.rendley.calls("POST", "/v1/export/cost").at(-1)!.body)).toEqual({ project_id: "prj_cli" });
  });

  it("exits 2 on usage errors, before calling the relay", async () => {
    const before = { calls: startCalls(), requests: world.rendley.requests.length };
    const url = world.receiver.url();
    const cases: Array<[string[], RegExp]> = [
      [["start", "render", "--callback-url", url, "--body", "{}"], /expected export, ai\/<action>/],
      [["start", "ai/Not_An_Action", "--callback-url", url, "--body", "{}"], /lower case letters, digits and dashes/],
      [["start", "ai/", "--callback-url", url, "--body", "{}"], /lower case letters/],
      [["cost", "agent", "--body", "{}"], /no price endpoint/],
      [["start", "export", "--body", "{}"], /--callback-url/],
      [["start", "export", "--callback-url", url], /--body <json> or --body-file/],
      [["start", "export", "--callback-url", url, "--body", "[1]"], /--body: expected a JSON object/],
      [["start", "export", "--callback-url", url, "--body", "{}", "--body-file", "x.json"], /cannot be used with/],
      [["start", "export", "--callback-url", url, "--body-file", join(dir, "missing.json")], /--body-file: cannot read/],
      [["cost", "ai/transcribe", "--body", "not json"], /--body: expected a JSON object/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect([args.join(" "), run.code]).toEqual([args.join(" "), 2]);
      expect(run.stderr).toMatch(message);
    }
    expect({ calls: startCalls(), requests: world.rendley.requests.length }).toEqual(before);
  });

  it("exits 1 with the API's code when the relay or Rendley refuses", async () => {
    const unknown = await cli(["start", "ai/transcode", "--callback-url", world.receiver.url(), "--body", "{}"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error unknown_action: no AI action "transcode"/);

    world.rendley.enqueueAgent(queueFull());
    const full = await cli(["start", "agent", "--callback-url", world.receiver.url(), "--body", '{"prompt":"x"}']);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/^error upstream_error: Rendley refused the request \(429\): The agent queue is full/);
  });
});
