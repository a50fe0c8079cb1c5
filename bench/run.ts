/**
 * `npm run bench [-- --quick] [--scenario <name>]… [--seed <n>]`: starts the relay, a fake Rendley, a receiver
 * (and baseline pollers) as separate processes per scenario, prints one row per scenario and a final table,
 * and writes bench/results/<scenario>.json and summary.json. See bench/README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { databaseTarget, postgresInfo, sweepStaleDatabases } from "./database.js";
import { controlAgent } from "./http.js";
import { machineInfo } from "./metrics.js";
import { buildRelay, cleanupAll, installProcessCleanup } from "./processes.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "./scenario.js";
import { burst } from "./scenarios/burst.js";
import { cold } from "./scenarios/cold.js";
import { latency } from "./scenarios/latency.js";
import { replicas } from "./scenarios/replicas.js";
import { scale } from "./scenarios/scale.js";
import { throughput } from "./scenarios/throughput.js";

const SCENARIOS: Record<string, Scenario> = { throughput, latency, cold, scale, replicas, burst };
const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

const USAGE = `usage: npm run bench -- [--quick] [--scenario ${Object.keys(SCENARIOS).join("|")}]… [--seed n]
  --quick      every scenario shrunk: the whole run takes under a minute
  --scenario   run only these (repeatable; default all, in the order above)
  --seed       workload seed (default 1)
  BENCH_DATABASE_URL  Postgres admin URL on 127.0.0.1 (default postgres://postgres@127.0.0.1:5432/test) or "pglite"`;

function parseArgs(argv: string[]): { quick: boolean; scenarios: string[]; seed: number } {
  let quick = false;
  let seed = 1;
  const scenarios: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") quick = true;
    else if (arg === "--scenario") {
      const name = argv[++i];
      if (!name || !SCENARIOS[name]) throw new UsageError(`unknown scenario ${name ?? "(missing)"}`);
      if (!scenarios.includes(name)) scenarios.push(name);
    } else if (arg === "--seed") {
      seed = Number(argv[++i]);
      if (!Number.isInteger(seed)) throw new UsageError("--seed needs an integer");
    } else if (arg === "--help" || arg === "-h") throw new UsageError("");
    else throw new UsageError(`unknown argument ${arg}`);
  }
  const order = Object.keys(SCENARIOS);
  scenarios.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return { quick, seed, scenarios: scenarios.length ? scenarios : order };
}

class UsageError extends Error {}

const log = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function metLabel(met: boolean | null): string {
  return met === null ? "n/a" : met ? "yes" : "NO";
}

/** Rows of `scenario | key figures | target | met?`, one per check. */
function table(results: readonly ScenarioResult[]): string {
  const rows: string[][] = [["scenario", "key figures", "target", "met?"]];
  for (const r of results) {
    const figures = r.skipped ? `skipped: ${r.skipped}` : r.error ? `${r.figures} (error: ${r.error})` : r.figures;
    if (r.checks.length === 0) rows.push([r.scenario, figures, "", r.skipped ? "skipped" : "n/a"]);
    r.checks.forEach((c, i) =>
      rows.push([i === 0 ? r.scenario : "", i === 0 ? figures : "", `${c.name} ${c.target}`, `${metLabel(c.met)} (${c.value})`]),
    );
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  const line = (row: string[]) => row.map((cell, col) => cell.padEnd(widths[col]!)).join(" | ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.slice(1).map(line)].join("\n");
}

function writeJson(name: string, value: unknown): void {
  writeFileSync(`${RESULTS_DIR}${name}`, `${JSON.stringify(value, null, 2)}\n`);
}

function readSummary(): { scenarios: Record<string, unknown> } {
  try {
    const old = JSON.parse(readFileSync(`${RESULTS_DIR}summary.json`, "utf8")) as { scenarios?: Record<string, unknown> };
    return { scenarios: old.scenarios && !Array.isArray(old.scenarios) ? old.scenarios : {} };
  } catch {
    return { scenarios: {} };
  }
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message ? `${err.message}\n` : ""}${USAGE}\n`);
    return err.message ? 2 : 0;
  }
  installProcessCleanup();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const target = databaseTarget();
  const stale = await sweepStaleDatabases(target);
  if (stale.length) log(`dropped leftover databases of dead runs: ${stale.join(", ")}`);
  // The relay runs as `npm start` runs it: compiled (incremental: seconds when src/ did not change).
  log(buildRelay() ? "built the relay (npm run build)" : "the relay's build in dist/ is current");
  const machine = machineInfo(await postgresInfo(target));
  const mode = options.quick ? "quick" : "full";
  log(`mode ${mode}, seed ${options.seed}, database ${target.kind}, scenarios ${options.scenarios.join(", ")}`);
  const ctx: ScenarioContext = { quick: options.quick, seed: options.seed, target, machine, log };
  const startedAt = Date.now();
  const results: ScenarioResult[] = [];
  for (const name of options.scenarios) {
    log(`── ${name}`);
    const t0 = Date.now();
    let result: ScenarioResult;
    try {
      result = await SCENARIOS[name]!(ctx);
    } catch (err) {
      result = { scenario: name, figures: "failed", checks: [], data: {}, error: (err as Error).stack ?? String(err) };
    }
    const elapsedMs = Date.now() - t0;
    results.push(result);
    writeJson(`${name}.json`, {
      scenario: name,
      mode,
      seed: options.seed,
      finished_at: new Date().toISOString(),
      elapsed_ms: elapsedMs,
      machine,
      figures: result.figures,
      checks: result.checks,
      ...(result.skipped ? { skipped: result.skipped } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...result.data,
    });
    const met = result.checks.map((c) => `${c.name} ${metLabel(c.met)}`).join(", ");
    console.log(
      `${name} | ${result.skipped ? `skipped: ${result.skipped}` : result.figures} | ${met}${result.error ? ` | error: ${result.error.split("\n")[0]}` : ""}`,
    );
    log(`${name} took ${(elapsedMs / 1000).toFixed(1)} s`);
  }
  const summary = readSummary();
  for (const r of results) {
    summary.scenarios[r.scenario] = {
      mode,
      seed: options.seed,
      finished_at: new Date().toISOString(),
      figures: r.figures,
      checks: r.checks,
      ...(r.skipped ? { skipped: r.skipped } : {}),
      ...(r.error ? { error: r.error.split("\n")[0] } : {}),
    };
  }
  writeJson("summary.json", { machine, last_run: { mode, seed: options.seed, elapsed_ms: Date.now() - startedAt }, ...summary });
  console.log(`\n${table(results)}\n`);
  log(`done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; results in bench/results/`);
  return results.some((r) => r.error) ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await cleanupAll(3_000);
  await controlAgent.close().catch(() => {});
}
process.exit(code);
