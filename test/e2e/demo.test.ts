import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { waitFor } from "../support/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const JOBS = [
  ["promo video", "job.completed"],
  ["broken media", "job.failed"],
  ["feature film", "job.completed"],
  ["podcast transcript", "job.completed"],
  ["thumbnail", "job.canceled"],
  ["editor export", "job.completed"],
] as const;

interface DemoRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const children: ChildProcess[] = [];

function runDemo(...args: string[]): DemoRun {
  const started = Date.now();
  // stdout is a pipe, not a TTY: the demo prints one plain line per event.
  // The suite's migrated PGlite template: no initdb in the demo (it would build and cache its own otherwise).
  const template = ["--pglite-template", inject("pgliteTemplate")];
  const child = spawn(process.execPath, ["--import", "tsx", "demo/main.ts", ...template, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function expectEveryJobCalledBackVerified(output: string) {
  for (const [label, event] of JOBS) {
    // The editor's job reaches the receiver through the subscription: its callbacks name it.
    const subscription = label === "editor export" ? ", subscription_id sub_\\w+" : "";
    expect(output, label).toMatch(
      new RegExp(`callback ${event} for ${label} \\(job_[0-9a-f]+, webhook-id msg_\\w+${subscription}\\): signature verified`),
    );
  }
  expect(output).not.toContain("NOT VERIFIED");
  const summary = /all 6 jobs finished: (\d+) callbacks received, (\d+) with a verified signature/.exec(output);
  expect(summary).not.toBeNull();
  expect(summary![1]).toBe(summary![2]);
}

/** The subscription is made and baselined before the editor's job starts, discovers it, and its callbacks name it. */
function expectEditorJobPushedBySubscription(output: string) {
  const created = /POST \/v1\/subscriptions → (sub_\w+): push for every new studio job of prj_editor/.exec(output);
  expect(created, "the subscription").not.toBeNull();
  const sub = created![1]!;
  const started = /in the Rendley editor \(no watch registered\) → editor export: job (job_[0-9a-f]+) of prj_editor/.exec(output);
  expect(started, "the editor's job").not.toBeNull();
  const job = started![1]!;
  const order = [
    created!.index,
    output.indexOf(`${sub}: first listing (the baseline) taken, 0 jobs`),
    started!.index,
    output.search(new RegExp(`${sub} discovered editor export's job ${job}: watch wch_\\w+`)),
  ];
  expect(order.every((at) => at >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b)); // in this order
  expect(output).toMatch(
    new RegExp(
      `callback job.completed for editor export \\(${job}, webhook-id msg_\\w+, subscription_id ${sub}\\): signature verified`,
    ),
  );
}

describe("npm run demo", () => {
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  it("runs the jobs, shows each verified callback, and stops cleanly on Ctrl-C (SIGINT)", async () => {
    const demo = runDemo();
    await waitFor(() => /all 6 jobs finished/.test(demo.stdout()) || demo.child.exitCode !== null, {
      timeoutMs: 60_000,
      intervalMs: 100,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; demo output so far:\n${demo.stdout()}\n${demo.stderr()}`);
    });
    expect(demo.child.exitCode, demo.stderr()).toBeNull();
    const output = demo.stdout();
    expect(output).toMatch(/dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard/);
    expect(output).toMatch(/API key rrk_demo_[0-9a-f]{32}/);
    expect(output).toMatch(/POST \/v1\/export\/cost → .*"credits":10/);
    expect(output).toMatch(/POST \/v1\/export → promo video: job job_/);
    expect(output).toMatch(/POST \/v1\/watches → podcast transcript: job job_/);
    expect(output).toMatch(/the relay keeps running/);
    expectEveryJobCalledBackVerified(output);
    expectEditorJobPushedBySubscription(output);

    const stopAt = Date.now();
    demo.child.kill("SIGINT");
    const exit = await demo.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(demo.stdout()).toMatch(/Stopping \(SIGINT\).*every job's final callback verified[\s\S]*Stopped\.\n$/);
    expect(demo.stderr()).not.toContain("kept the process alive");
  }, 90_000);

  it("--exit-when-done stops by itself with exit code 0 once every final callback arrived verified", async () => {
    const demo = runDemo("--exit-when-done");
    const exit = await demo.exited;
    expect({ code: exit.code, signal: exit.signal, stderr: demo.stderr() }).toEqual({ code: 0, signal: null, stderr: "" });
    expectEveryJobCalledBackVerified(demo.stdout());
    expectEditorJobPushedBySubscription(demo.stdout());
    expect(demo.stdout()).toMatch(/Stopping \(done\)/);
    console.log(`demo --exit-when-done took ${exit.ms} ms`);
  }, 90_000);
});
