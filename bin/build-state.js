// Whether dist/ is the build of the src/ beside it: shared by the `rendley-relay` command and the benchmark.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Newest modification time of the files under `dir` (0 when there are none). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return latest;
}

/**
 * True when `<root>/dist` holds a build and no file in `<root>/src` is newer than the newest file in it. A
 * package unpacks every file with one and the same time, so only a checkout's edits make src/ the newer.
 * @param {string} root the package's directory
 * @returns {boolean}
 */
export function distIsCurrent(root) {
  if (!existsSync(join(root, "dist", "cli", "main.js"))) return false;
  return !existsSync(join(root, "src")) || newest(join(root, "src")) <= newest(join(root, "dist"));
}
