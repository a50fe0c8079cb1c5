import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliCaptured, type CliRun } from "../support/cli-run.js";
import { startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

describe("rendley-relay subscriptions against a running relay", () => {
  let world: TestWorld;
  let env: Record<string, string>;
  let projectSeq = 0;
  /** Every test subscribes to a project of its own, so no listing announces another test's jobs. */
  const newProject = () => `prj_cli_sub_${++projectSeq}`;

  const cli = async (args: string[]): Promise<CliRun> => {
    return runCliCaptured(args, { env });
  };
  const apiSubscriptions = async () => (await world.api("/v1/subscriptions?limit=200")).body.data as any[];
  const apiSubscription = async (id: string) => (await world.api(`/v1/subscriptions/${id}`)).body.data;

  beforeAll(async () => {
    // The smallest interval allowed; a new filter is listed at once anyway.
    world = await startWorld({ env: { SUBSCRIPTION_LIST_INTERVAL_MS: "2000" } });
    env = { RELAY_URL: world.relay.url, RELAY_API_KEY: TEST_API_KEY };
  });
  afterAll(async () => {
    await world?.close();
  });

  it("lists the subscriptions group and documents its commands and options", async () => {
    expect((await cli(["--help"])).stdout).toMatch(/^ {2}subscriptions\b/m);
    const group = await cli(["subscriptions", "--help"]);
    expect(group.code).toBe(0);
    for (const command of ["create", "list", "get", "delete"])
      expect(group.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, "m"));
    expect(group.stdout).toMatch(/get .*<subscription_id>/);
    const create = await cli(["subscriptions", "create", "--help"]);
    for (const text of [
      "--callback-url <url>",
      "--source-type <type>",
      "--project-id <id>",
      "--job-type <type>",
      "--source-id <id>",
      "--event <event>",
      "--metadata <json>",
      "--retry-schedule <delays>",
      "--include-existing",
      "--json",
      "Examples:",
    ])
      expect(create.stdout).toContain(text);
    expect((await cli(["subscriptions", "delete", "--help"])).stdout).toContain("--cancel-watches");
    expect((await cli(["list", "--help"])).stdout).toContain("--subscription <subscription_id>");
  });

  it("creates a subscription, shows it, lists the watches it made, and deletes it with them", async () => {
    const project = newProject();
    const finished = world.rendley.addEditorJob({ projectId: project, steps: ["completed"] });
    const running = world.rendley.addEditorJob({ projectId: project, steps: ["processing"] });
    const created = await cli([
      "subscriptions",
      "create",
      "--callback-url",
      world.receiver.url(),
      "--source-type",
      "studio",
      "--project-id",
      project,
      "--event",
      "job.completed,job.failed",
      "--metadata",
      '{"team":"video"}',
      "--retry-schedule",
      "1s",
      "--include-existing",
      "--json",
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({
      status: "active",
      filter: { source_type: "studio", project_id: project },
      callback_url: world.receiver.url(),
      events: ["job.completed", "job.failed"],
      metadata: { team: "video" },
      retry_schedule: "1s",
      include_existing: true,
    });
    const id = created.json.id as string;
    expect(id).toMatch(/^sub_/);

    // With --include-existing the first listing announces both jobs; the finished one is delivered.
    await waitFor(async () => (await apiSubscription(id)).discovered_count === 2, { message: "both jobs discovered" });
    await waitFor(() => world.receiver.received.some((r) => r.body?.data?.job_id === finished), { message: "its callback" });
    const callback = world.receiver.received.find((r) => r.body?.data?.job_id === finished)!;
    expect(callback.body).toMatchObject({ type: "job.completed", data: { subscription_id: id, metadata: { team: "video" } } });

    const shown = await cli(["subscriptions", "get", id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^subscription +${id}$`, "m"));
    expect(shown.stdout).toMatch(new RegExp(`^filter +studio project_id=${project}$`, "m"));
    expect(shown.stdout).toMatch(/^events +job\.completed, job\.failed$/m);
    expect(shown.stdout).toMatch(/^include existing +yes$/m);
    expect(shown.stdout).toMatch(/^last listed +\S+ \S+ \(2 jobs\)$/m);
    expect(shown.stdout).toMatch(new RegExp(`^discovered +2 \\(rendley-relay list --subscription ${id}\\)$`, "m"));
    expect((await cli(["subscriptions", "get", id, "--json"])).json).toMatchObject({ id, discovered_count: 2 });

    const list = await cli(["subscriptions", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID +STATUS +FILTER +DISCOVERED +LAST LISTED +LAST ERROR +CALLBACK$/);
    expect(list.stdout).toMatch(new RegExp(`^${id} +active +studio project_id=${project} +2 +\\S+ \\S+ +- +http`, "m"));
    expect((await cli(["subscriptions", "list", "--status", "active", "--json"])).json.map((s: any) => s.id)).toContain(id);
    expect((await cli(["subscriptions", "list", "--status", "deleted", "--json"])).json.map((s: any) => s.id)).not.toContain(id);

    // Its watches, through the watch commands.
    const watches = await cli(["list", "--subscription", id, "--json"]);
    expect(watches.code).toBe(0);
    expect(watches.json.map((w: any) => w.job_id).sort()).toEqual([finished, running].sort());
    const runningWatch = watches.json.find((w: any) => w.job_id === running);
    expect((await cli(["get", runningWatch.id])).stdout).toMatch(new RegExp(`^subscription +${id}$`, "m"));
    expect((await cli(["list", "--subscription", id, "--status", "watching", "--json"])).json.map((w: any) => w.id)).toEqual([
      runningWatch.id,
    ]);
    await world.waitForWatch(watches.json.find((w: any) => w.job_id === finished).id, (w) => w.status === "delivered");

    // Deleting it cancels the running watch only; deleting it again answers the same.
    const deleted = await cli(["subscriptions", "delete", id, "--cancel-watches"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/^status +deleted$/m);
    expect(deleted.stdout).toMatch(/^canceled watches +1$/m);
    expect((await world.api(`/v1/watches/${runningWatch.id}`)).body.data.status).toBe("canceled");
    const again = await cli(["subscriptions", "delete", id, "--cancel-watches", "--json"]);
    expect(again.code).toBe(0);
    expect(again.json).toEqual(await apiSubscription(id)); // exactly the API's data
    expect(again.json).toMatchObject({ id, status: "deleted" });
    expect(again.stderr).toBe("canceled 0 watches\n");
    expect((await cli(["subscriptions", "list", "--status", "deleted", "--json"])).json.map((s: any) => s.id)).toContain(id);
  });

  it("pages through every subscription with --all, and shows the cursor of a page that has more", async () => {
    for (const source of ["api", "studio", "api"])
      expect(
        (
          await cli([
            "subscriptions",
            "create",
            "--callback-url",
            world.receiver.url(),
            "--source-type",
            source,
            "--project-id",
            newProject(),
          ])
        ).code,
      ).toBe(0);
    // `--callback` and `--events`, as other commands and the API spell them, work too.
    const aliased = await cli([
      "subscriptions",
      "create",
      "--callback",
      world.receiver.url(),
      "--source-type",
      "api",
      "--events",
      "job.failed",
      "--json",
    ]);
    expect(aliased.code, aliased.stderr).toBe(0);
    expect(aliased.json).toMatchObject({ callback_url: world.receiver.url(), events: ["job.failed"], include_existing: false });
    const everyId = (await apiSubscriptions()).map((s) => s.id);
    expect(everyId.length).toBeGreaterThanOrEqual(3);

    const all = await cli(["subscriptions", "list", "--limit", "1", "--all", "--json"]);
    expect(all.code).toBe(0);
    expect(all.json.map((s: any) => s.id)).toEqual(everyId);
    expect(all.stderr).toBe("");
    const page = await cli(["subscriptions", "list", "--limit", "2", "--json"]);
    expect(page.json.map((s: any) => s.id)).toEqual(everyId.slice(0, 2));
    const cursor = /--cursor (\S+)/.exec(page.stderr)?.[1];
    expect(cursor, page.stderr).toBeDefined();
    const next = await cli(["subscriptions", "list", "--limit", "2", "--cursor", cursor!, "--json"]);
    expect(next.json.map((s: any) => s.id)).toEqual(everyId.slice(2, 4));
  });

  it("exits 2 on usage errors, before calling the relay", async () => {
    const before = (await apiSubscriptions()).length;
    const url = world.receiver.url();
    const cases: Array<[string[], RegExp]> = [
      [["subscriptions", "create", "--callback-url", url], /--source-type <type>' not specified/],
      [["subscriptions", "create", "--source-type", "studio"], /--callback-url <url>' not specified/],
      [["subscriptions", "create", "--callback-url", url, "--source-type", "editor"], /Allowed choices are api, studio/],
      [["subscriptions", "create", "--callback-url", url, "--source-type", "api", "--event", "job.done"], /expected one of/],
      [["subscriptions", "create", "--callback-url", url, "--source-type", "api", "--metadata", "[1]"], /JSON object/],
      [["subscriptions", "list", "--status", "gone"], /Allowed choices are active, deleted/],
      [["subscriptions", "list", "--limit", "0"], /whole number from 1 to 200/],
      [["subscriptions", "list", "--all", "--cursor", "abc"], /cannot be used with/],
      [["subscriptions", "get"], /missing required argument/],
      [["subscriptions", "delete"], /missing required argument/],
      [["subscriptions"], /Usage: rendley-relay subscriptions/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect([args.join(" "), run.code]).toEqual([args.join(" "), 2]);
      expect(run.stdout + run.stderr).toMatch(message);
    }
    expect(await apiSubscriptions()).toHaveLength(before);
  });

  it("exits 1 with the API's code when the relay refuses", async () => {
    const missing = await cli(["subscriptions", "get", "sub_does_not_exist"]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe("error not_found: subscription not found\n");
    expect((await cli(["subscriptions", "delete", "sub_does_not_exist"])).stderr).toBe(
      "error not_found: subscription not found\n",
    );

    const spaced = await cli([
      "subscriptions",
      "create",
      "--callback-url",
      world.receiver.url(),
      "--source-type",
      "api",
      "--project-id",
      "a b",
    ]);
    expect(spaced.code).toBe(1);
    expect(spaced.stderr).toMatch(/^error validation_failed: /);
    expect(spaced.stderr).toContain("  filter.project_id: ");
    const privateUrl = await cli(["subscriptions", "create", "--callback-url", "http://10.0.0.7/hook", "--source-type", "api"]);
    expect(privateUrl.code).toBe(1);
    expect(privateUrl.stderr).toMatch(/^error callback_url_\w+: /);
  });
});
