import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { distIsCurrent } from "../bin/build-state.js";

/** The repository root: children run from there, as `npm start` does. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every child still running: killed on any way out of the orchestrator. */
const live = new Set<ChildProcess>();
/** Async clean-ups (dropping databases…) run on SIGINT/SIGTERM and fatal errors; scenarios also run them on success. */
const cleanups = new Set<() => Promise<void>>();

/** A child process of the benchmark. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last lines of its stdout / stderr (for error messages). */
  readonly stdoutTail: string[];
  readonly stderrTail: string[];
  /** Log lines (pino JSON on stdout) counted by `level msg`: what the relay complained about during the run. */
  readonly logCounts: Map<string, number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL = 100;
const PINO_LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = "";
  return (chunk) => {
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line);
  };
}

/** Spawns `node --import tsx file args…` (a bench child written in TypeScript); see `spawnNode`. */
export function spawnTs(name: string, file: string, args: string[], env: Record<string, string>): Proc {
  return spawnNode(name, ["--import", "tsx", file, ...args], env);
}

/**
 * Spawns `node argv…` from the repository root with only the given environment (plus PATH/HOME/TMPDIR/LANG),
 * its stdin a pipe that stays open: children end themselves when it closes.
 */
export function spawnNode(name: string, argv: string[], env: Record<string, string>): Proc {
  const base: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[key]) base[key] = process.env[key]!;
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${name}`);
  live.add(child);
  const stdoutTail: string[] = [];
  const stderrTail: string[] = [];
  const logCounts = new Map<string, number>();
  const keep = (tail: string[], line: string) => {
    tail.push(line);
    if (tail.length > TAIL) tail.shift();
  };
  child.stdout!.on(
    "data",
    lineSplitter((line) => {
      keep(stdoutTail, line);
      if (line.startsWith("{")) {
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string };
          const key = `${PINO_LEVELS[entry.level ?? 0] ?? entry.level} ${entry.msg ?? ""}`;
          logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
        } catch {
          // not a log line
        }
      }
    }),
  );
  child.stderr!.on(
    "data",
    lineSplitter((line) => keep(stderrTail, line)),
  );
  child.stdin!.on("error", () => {}); // EPIPE when the child is already gone
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid: child.pid,
    child,
    stdoutTail,
    stderrTail,
    logCounts,
    exited,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Resolves with the first stdout/stderr line that `match` accepts; rejects when the child exits first or on timeout. */
export function waitForLine<T>(
  proc: Proc,
  stream: "stdout" | "stderr",
  match: (line: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const source = stream === "stdout" ? proc.child.stdout! : proc.child.stderr!;
    const done = (fn: () => void) => {
      clearTimeout(timer);
      source.off("data", onData);
      fn();
    };
    const onData = lineSplitter((line) => {
      const value = match(line);
      if (value !== undefined) done(() => resolve(value));
    });
    const timer = setTimeout(
      () =>
        done(() => reject(new Error(`${proc.name}: not ready within ${timeoutMs} ms\n${proc.stderrTail.slice(-20).join("\n")}`))),
      timeoutMs,
    );
    source.on("data", onData);
    void proc.exited.then((e) =>
      done(() =>
        reject(
          new Error(`${proc.name} exited (${JSON.stringify(e)}) before it was ready\n${proc.stderrTail.slice(-20).join("\n")}`),
        ),
      ),
    );
  });
}

/** A bench child (fake, receiver, pollers): waits for its `READY {"port":…}` line. */
async function startBenchChild(name: string, file: string, args: string[]): Promise<{ proc: Proc; url: string }> {
  const proc = spawnTs(name, file, args, {});
  const ready = await waitForLine(
    proc,
    "stdout",
    (line) => (line.startsWith("READY ") ? (JSON.parse(line.slice(6)) as { port: number }) : undefined),
    30_000,
  );
  return { proc, url: `http://127.0.0.1:${ready.port}` };
}

/** Starts bench/fake-rendley.ts. */
export function startFakeRendley(o: { apiKey: string; latencyMs: number; seed: number }) {
  return startBenchChild("fake-rendley", "bench/fake-rendley.ts", [
    "--api-key",
    o.apiKey,
    "--latency-ms",
    String(o.latencyMs),
    "--seed",
    String(o.seed),
  ]);
}

/** Starts bench/receiver.ts. */
export function startReceiver(o: { secret: string; latencyMs: number }) {
  return startBenchChild("receiver", "bench/receiver.ts", ["--secret", o.secret, "--latency-ms", String(o.latencyMs)]);
}

/** Starts bench/baseline-pollers.ts against the fake. */
export function startBaselinePollers(o: { upstream: string; apiKey: string }) {
  return startBenchChild("baseline-pollers", "bench/baseline-pollers.ts", ["--upstream", o.upstream, "--api-key", o.apiKey]);
}

/**
 * Compiles the relay into dist/ (`npm run build`, incremental), as `npm start` does before it starts, unless
 * nothing in src/ changed since the last build (tsc's own check of that takes 3 s).
 * @returns whether it compiled
 */
export function buildRelay(): boolean {
  if (distIsCurrent(ROOT)) return false;
  execFileSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  return true;
}

/**
 * Starts the relay exactly as `npm start` does (`node dist/main.js`; `buildRelay` first), and waits for
 * "listening on http://…" on stderr.
 */
export async function startRelay(name: string, env: Record<string, string>): Promise<{ proc: Proc; url: string }> {
  // BENCH_CPU_PROF=<dir>: each relay writes a V8 CPU profile there when it exits (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const guard = ["--import", pathToFileURL(`${ROOT}/bench/orphan-guard.mjs`).href];
  const proc = spawnNode(name, [...prof, ...guard, "dist/main.js"], env);
  try {
    const url = await waitForLine(proc, "stderr", (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1], 60_000);
    return { proc, url };
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
}

/** Registers an async clean-up; returns its unregister function. */
export function onCleanup(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Stops every live child (SIGTERM, SIGKILL after `graceMs`) and runs the registered clean-ups. */
export async function cleanupAll(graceMs = 5_000): Promise<void> {
  await Promise.allSettled(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
        }),
    ),
  );
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    await fn().catch((err: Error) => process.stderr.write(`clean-up failed: ${err.message}\n`));
  }
}

/**
 * Makes sure no child outlives the orchestrator: SIGKILL on `exit` (synchronous, whatever the reason), and on
 * SIGINT/SIGTERM or a fatal error an orderly stop with the clean-ups (databases dropped) before exiting.
 */
export function installProcessCleanup(): void {
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
  let exiting = false;
  const bail = (code: number, why: string) => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\nbench: ${why}; stopping children and cleaning up…\n`);
    const hard = setTimeout(() => process.exit(code), 20_000);
    hard.unref();
    void cleanupAll(3_000).finally(() => process.exit(code));
  };
  process.on("SIGINT", () => bail(130, "interrupted"));
  process.on("SIGTERM", () => bail(143, "terminated"));
  process.on("uncaughtException", (err) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    bail(1, "uncaught exception");
  });
  process.on("unhandledRejection", (err) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    bail(1, "unhandled rejection");
  });
}
