import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDb } from "../../src/db/client.js";
import { pgliteTemplate } from "./test-db.js";
import { waitFor } from "./wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A relay running as its own process (`node --import tsx src/main.ts`), as `npm start` runs it. */
export interface RelayProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the API URL once the relay says it listens. */
  readonly ready: Promise<string>;
  /** Resolves when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnRelay(env: Record<string, string>): RelayProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    // No /readyz-only moment on SIGTERM unless a test asks for one: tests stop relays often.
    env: { PATH: process.env.PATH ?? "", SHUTDOWN_UNREADY_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.on("data", (d: Buffer) => stdout.push(...d.toString("utf8").split("\n").filter(Boolean)));
  child.stderr!.on("data", (d: Buffer) => stderr.push(...d.toString("utf8").split("\n").filter(Boolean)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = Promise.race([
    waitFor(() => stderr.map((l) => /listening on (http:\/\/\S+)/.exec(l)?.[1]).find(Boolean), {
      timeoutMs: 30_000,
      intervalMs: 25,
    }),
    exited.then((e) => {
      throw new Error(`relay exited before listening (${JSON.stringify(e)}): ${stderr.join("\n")}`);
    }),
  ]);
  ready.catch(() => {}); // callers that only wait for `exited` must not see an unhandled rejection
  return { child, stdout, stderr, ready, exited };
}

/** A PGlite data directory already holding the migrated schema (copying the template beats initdb). */
export async function preparedDataDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "relay-data-"));
  const db = await createDb({ dataDir: dir, loadDataDir: pgliteTemplate() });
  await db.close();
  return dir;
}
