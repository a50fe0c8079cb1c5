/**
 * Prints the import graph between the folders of `src/`: one line per (from → to) pair with the number of
 * import statements behind it, then the pairs that import each other. Type-only imports count too: a reader
 * follows them as well. Top-level files (`src/config.ts`, `src/errors.ts`…) are shown as `(root)/<name>`.
 *
 *   npm run graph             the table
 *   npm run graph -- --json   the same as JSON ({ edges: [{ from, to, imports }], cycles: [[a, b]] })
 *
 * The architecture test (test/unit/architecture.test.ts) reads the same edges through `importEdges()`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export type ImportEdge = { fromFile: string; toFile: string };

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/g;
const DYNAMIC_RE = /import\(\s*["'](\.[^"']+)["']\s*\)/g;

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );

/** Every relative import in `srcDir`, as paths relative to it (`db/queries/claim-due-polls.ts` → `domain/poll.ts`). */
export function importEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, "utf8");
    for (const re of [IMPORT_RE, DYNAMIC_RE]) {
      for (const m of text.matchAll(re)) {
        const target = resolve(dirname(file), m[1]!).replace(/\.js$/, "");
        const toFile = ["ts", "tsx"].map((ext) => `${target}.${ext}`).find((f) => f.startsWith(srcDir)) ?? target;
        edges.push({ fromFile: relative(srcDir, file), toFile: relative(srcDir, toFile) });
      }
    }
  }
  return edges;
}

/** The folder a `src`-relative path belongs to: its first segment, or `(root)/<file>` for top-level files. */
export function folderOf(path: string): string {
  const parts = path.split(sep);
  return parts.length === 1 ? `(root)/${parts[0]!.replace(/\.tsx?$/, "")}` : parts[0]!;
}

export function folderGraph(edges: ImportEdge[]): { from: string; to: string; imports: number }[] {
  const counts = new Map<string, number>();
  for (const e of edges) {
    const from = folderOf(e.fromFile);
    const to = folderOf(e.toFile);
    if (from === to) continue;
    const key = `${from}\t${to}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([key, imports]) => {
      const [from, to] = key.split("\t") as [string, string];
      return { from, to, imports };
    })
    .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const srcDir = fileURLToPath(new URL("../src", import.meta.url));
  const graph = folderGraph(importEdges(srcDir));
  const pairs = new Set(graph.map((e) => `${e.from}\t${e.to}`));
  const cycles = graph.filter((e) => e.from < e.to && pairs.has(`${e.to}\t${e.from}`)).map((e) => [e.from, e.to]);
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ edges: graph, cycles }, null, 2));
  } else {
    const byFrom = new Map<string, string[]>();
    for (const e of graph) byFrom.set(e.from, [...(byFrom.get(e.from) ?? []), `${e.to} (${e.imports})`]);
    for (const [from, tos] of byFrom) console.log(`${from.padEnd(22)} → ${tos.join(", ")}`);
    console.log(`\n${graph.length} folder edges; ${cycles.length} pairs import each other`);
    for (const [a, b] of cycles) console.log(`  ${a} ⇄ ${b}`);
  }
}
