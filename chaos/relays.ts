import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What in a relay's output means it crashed on its own. */
const CRASH_PATTERNS = [
  /unhandled ?rejection/i,
  /uncaught ?exception/i,
  /^\s*at .*\(node:internal/m,
  /FATAL ERROR/,
  /"level":60/,
];

/** One relay slot: a `node --import tsx src/main.ts` process that is killed and started again during the run. */
export interface RelaySlot {
  readonly name: string;
  readonly url: string | undefined;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts the process; resolves once it listens. */
  start(): Promise<void>;
  /** Sends a signal; resolves with the exit once the process ended. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Resident memory of the live process in bytes (Linux /proc), or undefined. */
  rss(): number | undefined;
  readonly starts: number;
  /** Exits nobody asked for, with the output lines that explain them. */
  readonly crashes: string[];
  /** Times the relay survived one of postgres.js's uncatchable errors (#1154, #1223: the main.ts guard). */
  readonly driverBugRecoveries: number;
}

export function createRelaySlot(name: string, env: Record<string, string>, logDir: string): RelaySlot {
  let child: ChildProcess | undefined;
  let url: string | undefined;
  let starts = 0;
  let expectingExit = false;
  let log: WriteStream | undefined;
  const crashes: string[] = [];
  let driverBugRecoveries = 0;

  const scan = (line: string) => {
    if (/porsager\/postgres#(1154|1223)/.test(line)) driverBugRecoveries++;
    if (CRASH_PATTERNS.some((p) => p.test(line))) crashes.push(`${name}: ${line.slice(0, 400)}`);
  };

  return {
    name,
    get url() {
      return url;
    },
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get starts() {
      return starts;
    },
    crashes,
    get driverBugRecoveries() {
      return driverBugRecoveries;
    },
    async start() {
      starts++;
      expectingExit = false;
      url = undefined;
      log = createWriteStream(join(logDir, `${name}-${starts}.log`));
      const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      const own = log;
      let resolveUrl!: (u: string) => void;
      const listening = new Promise<string>((resolve) => (resolveUrl = resolve));
      let partial = "";
      /** This process's last output lines, quoted when it exits on its own. */
      const recent: string[] = [];
      const onData = (d: Buffer) => {
        own.write(d);
        const text = partial + d.toString("utf8");
        const lines = text.split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          scan(line);
          recent.push(line.slice(0, 600));
          if (recent.length > 30) recent.shift();
          const m = /listening on (http:\/\/\S+)/.exec(line);
          if (m) resolveUrl(m[1]!);
        }
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", onData);
      const exited = new Promise<never>((_, reject) =>
        proc.once("exit", (code, signal) => {
          const unasked = !expectingExit;
          // Output written just before the exit can arrive after it: the log ends, and a crash is quoted, once the pipes close.
          proc.once("close", () => {
            own.end();
            if (!unasked) return;
            const tail = recent.map((l) => `    | ${l}`).join("\n");
            crashes.push(`${name}: exited on its own (code ${code}, signal ${signal}); its last output:\n${tail}`);
          });
          reject(new Error(`${name} exited before listening (code ${code}, signal ${signal})`));
        }),
      );
      exited.catch(() => {});
      url = await Promise.race([listening, exited]);
    },
    kill(signal) {
      const proc = child;
      const startedAt = Date.now();
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
        return Promise.resolve({ code: proc?.exitCode ?? null, signal: proc?.signalCode ?? null, ms: 0 });
      }
      expectingExit = true;
      url = undefined;
      return new Promise((resolve) => {
        proc.once("exit", (code, sig) => resolve({ code, signal: sig, ms: Date.now() - startedAt }));
        proc.kill(signal);
      });
    },
    rss() {
      if (!child?.pid || !this.running) return undefined;
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
