import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { folderGraph, folderOf, importEdges } from "../../scripts/import-graph.js";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
const sources = files(SRC).map((f) => ({ path: relative(SRC, f), text: readFileSync(f, "utf8") }));
const edges = importEdges(SRC);

/** `from → to` for every import from a file of folder `from` into a file of another folder that `allowed` refuses. */
function violations(from: string, allowed: (to: string) => boolean): string[] {
  return edges
    .filter((e) => folderOf(e.fromFile) === from && folderOf(e.toFile) !== from && !allowed(folderOf(e.toFile)))
    .map((e) => `${e.fromFile} → ${e.toFile}`);
}

describe("architecture", () => {
  it("reads the environment only in environment.ts", () => {
    const readers = sources.filter((f) => f.text.includes("process.env")).map((f) => f.path);
    expect(readers).toEqual(["environment.ts"]);
  });

  it("keeps source files small", () => {
    const long = sources.map((f) => [f.path, f.text.split("\n").length] as const).filter(([, lines]) => lines > 300);
    expect(long).toEqual([]);
  });

  it("domain/ is pure vocabulary: it imports nothing, neither from the rest of src nor from packages", () => {
    expect(violations("domain", () => false)).toEqual([]);
    const packages = sources
      .filter((f) => f.path.startsWith("domain/"))
      .flatMap((f) => [...f.text.matchAll(/from\s+["']([^."'][^"']*)["']/g)].map((m) => `${f.path} → ${m[1]}`));
    expect(packages).toEqual([]);
  });

  it("db/ imports only domain/ and lib/: storage knows no policy", () => {
    expect(violations("db", (to) => to === "domain" || to === "lib")).toEqual([]);
  });

  it("lib/ imports only lib/", () => {
    expect(violations("lib", () => false)).toEqual([]);
  });

  it("upstream/ never imports db/", () => {
    expect(violations("upstream", (to) => to !== "db")).toEqual([]);
  });

  it("delivery/ and scheduler/ never import each other", () => {
    expect(violations("delivery", (to) => to !== "scheduler")).toEqual([]);
    expect(violations("scheduler", (to) => to !== "delivery")).toEqual([]);
  });

  it("the workers (scheduler, delivery, maintenance) never import api/", () => {
    for (const worker of ["scheduler", "delivery", "maintenance"]) {
      expect(violations(worker, (to) => to !== "api")).toEqual([]);
    }
  });

  it("SQL lives in db/ only", () => {
    const outside = sources
      .filter((f) => !f.path.startsWith("db/") && /\bsql`|from "drizzle-orm"/.test(f.text))
      .map((f) => f.path);
    expect(outside).toEqual([]);
  });

  it("no two folders of src/ import each other", () => {
    const graph = folderGraph(edges);
    const pairs = new Set(graph.map((e) => `${e.from} ${e.to}`));
    const cycles = graph.filter((e) => e.from < e.to && pairs.has(`${e.to} ${e.from}`)).map((e) => `${e.from} ⇄ ${e.to}`);
    expect(cycles).toEqual([]);
  });

  it("sees the imports it checks (the graph is not empty, type-only imports included)", () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ fromFile: "db/queries/claim-due-polls.ts", toFile: "domain/poll.ts" });
  });
});
