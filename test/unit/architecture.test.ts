import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));

describe("architecture", () => {
  it("reads the environment only in config.ts (and main.ts, which hands it over)", () => {
    const readers = files(SRC)
      .filter((f) => readFileSync(f, "utf8").includes("process.env"))
      .map((f) => relative(SRC, f))
      .sort();
    expect(readers).toEqual(["config.ts", "main.ts"]);
  });

  it("keeps source files small", () => {
    const long = files(SRC)
      .map((f) => [relative(SRC, f), readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, lines]) => lines > 300);
    expect(long).toEqual([]);
  });
});
