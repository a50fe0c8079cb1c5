import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  readonly code = "RELAY_DATA_DIR_LOCKED";
}

const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes an exclusive lock on a PGlite data directory. PGlite has no cross-process lock of its own:
 * a second process on the same directory silently loses its writes, so we refuse instead.
 * A lock left by a process that no longer exists (kill -9) is taken over.
 * @returns release function (idempotent)
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "relay.lock");
  if (heldHere.has(path)) {
    throw new DataDirLockedError(`RELAY_DATA_DIR ${dir} is already open in this process`);
  }
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(path);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(
          `RELAY_DATA_DIR ${dir} is in use by process ${pid}: PGlite allows one process per directory. ` +
            "Stop that process, choose another RELAY_DATA_DIR, or set DATABASE_URL so several relays share one Postgres.",
        );
      }
      unlinkSync(path); // stale: its owner is gone
    }
  }
  throw new DataDirLockedError(`could not lock RELAY_DATA_DIR ${dir}`);
}
