/**
 * Preloaded into the relay (`--import bench/orphan-guard.mjs`; plain JavaScript, so the compiled relay needs no tsx): when the orchestrator dies, even by SIGKILL,
 * the relay's stdin closes and it gets a SIGTERM, so it stops the way `kill` would stop it (graceful, ≤ 10 s).
 * The relay's own code is untouched.
 */
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
process.stdin.on("error", () => process.kill(process.pid, "SIGTERM"));
process.stdin.resume();
