import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, type ConfigVariable } from "../../src/config-variables.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const CODE = "src/config-variables.ts";
const VARIABLES: Record<string, ConfigVariable> = CONFIG_VARIABLES;

/**
 * What README.md's default cell must say for a variable: its `defaultText` when it has one ("unset", "**required** …",
 * "empty"), else its `default` in backticks. A row grouping variables (`A` / `B`) gives their defaults in the same order,
 * separated by " / ".
 */
const readmeDefault = (variable: ConfigVariable): string => variable.defaultText ?? `\`${variable.default}\``;

/** The cells of a markdown table row, trimmed (a `\|` inside a cell is not a separator). */
const cells = (row: string): string[] =>
  row
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());

/** Every way the `## Configuration` table of `markdown` disagrees with CONFIG_VARIABLES, each saying what to fix. */
function readmeProblems(markdown: string): string[] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(markdown)?.[1];
  if (section === undefined) return ["README.md has no `## Configuration` section: restore it, with its variable table"];
  const [header, separator, ...rows] = section.split("\n").filter((line) => line.startsWith("|"));
  if (!header || JSON.stringify(cells(header)) !== JSON.stringify(["variable", "default", "meaning"]) || !separator) {
    return ["README.md's `## Configuration` table must start with the header `| variable | default | meaning |`"];
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const [variableCell = "", defaultCell = ""] = cells(row);
    const parts = variableCell.split(" / ").map((part) => /^`([A-Z][A-Z0-9_]*)`$/.exec(part)?.[1]);
    if (parts.some((name) => name === undefined)) {
      problems.push(`README.md row "${variableCell}": write its variable cell as \`NAME\` or \`NAME\` / \`OTHER_NAME\``);
      continue;
    }
    const names = parts as string[];
    const defaults = names.length === 1 ? [defaultCell] : defaultCell.split(" / ");
    const defaultsFit = defaults.length === names.length;
    if (!defaultsFit) {
      const expected = names.map((name) => (VARIABLES[name] ? readmeDefault(VARIABLES[name]) : "…")).join(" / ");
      problems.push(
        `README.md row "${variableCell}": its default cell "${defaultCell}" must give ${names.length} defaults separated by " / ": ${expected}`,
      );
    }
    names.forEach((name, i) => {
      const variable = VARIABLES[name];
      const where = names.length === 1 ? `row "${variableCell}"` : `row "${variableCell}", default ${i + 1} of ${names.length}`;
      if (seen.has(name)) problems.push(`README.md lists \`${name}\` twice (again in ${where}): keep one`);
      seen.add(name);
      if (!variable) {
        problems.push(
          `README.md lists \`${name}\` (${where}), which ${CODE} does not define: remove it, or add it to CONFIG_VARIABLES`,
        );
      } else if (defaultsFit && defaults[i] !== readmeDefault(variable)) {
        problems.push(
          `README.md gives \`${name}\` the default "${defaults[i]}" (${where}), but CONFIG_VARIABLES.${name} in ${CODE} ` +
            `says "${readmeDefault(variable)}": write that in README.md, or fix the entry's default/defaultText if the README is right`,
        );
      }
    });
  }
  for (const [name, variable] of Object.entries(VARIABLES)) {
    if (!seen.has(name)) {
      problems.push(
        `README.md's configuration table lacks \`${name}\` (defined in ${CODE}): add the row ` +
          `| \`${name}\` | ${readmeDefault(variable)} | ${variable.doc} |`,
      );
    }
  }
  return problems;
}

describe("README.md's configuration table", () => {
  it("lists every variable of CONFIG_VARIABLES, and only those, each with the code's default", () => {
    expect(readmeProblems(README)).toEqual([]);
  });

  it("uses defaultText only for defaults backticks cannot show (none, or empty)", () => {
    const misused = Object.entries(VARIABLES)
      .filter(([, variable]) => variable.defaultText !== undefined && variable.default)
      .map(([name, variable]) => `${name}: drop its defaultText, README.md should show \`${variable.default}\``);
    expect(misused).toEqual([]);
  });

  describe("says what to fix when README.md and the code disagree", () => {
    const withRow = (from: string, to: string): string => {
      expect(README).toContain(from);
      return README.replace(from, to);
    };

    it("a variable missing from README.md", () => {
      const readme = README.replace(/^\| `UPSTREAM_TIMEOUT_MS` .*\n/m, "");
      expect(readme).not.toBe(README);
      expect(readmeProblems(readme)).toEqual([
        "README.md's configuration table lacks `UPSTREAM_TIMEOUT_MS` (defined in src/config-variables.ts): add the row " +
          `| \`UPSTREAM_TIMEOUT_MS\` | \`10000\` | ${CONFIG_VARIABLES.UPSTREAM_TIMEOUT_MS.doc} |`,
      ]);
    });

    it("a variable README.md lists but the code does not define", () => {
      const readme = withRow("| `LEASE_MS`  ", "| `LEASE_MZ`  ");
      expect(readmeProblems(readme)).toEqual([
        expect.stringMatching(
          /^README\.md lists `LEASE_MZ` \(row "`LEASE_MZ`"\), which src\/config-variables\.ts does not define/,
        ),
        expect.stringMatching(/^README\.md's configuration table lacks `LEASE_MS` .*add the row \| `LEASE_MS` \| `15000` \|/),
      ]);
    });

    it("a wrong default in a grouped row names the position", () => {
      const readme = withRow("| `8080` / `0.0.0.0`  ", "| `8080` / `127.0.0.1`");
      expect(readmeProblems(readme)).toEqual([
        'README.md gives `HOST` the default "`127.0.0.1`" (row "`PORT` / `HOST`", default 2 of 2), but CONFIG_VARIABLES.HOST ' +
          'in src/config-variables.ts says "`0.0.0.0`": write that in README.md, or fix the entry\'s default/defaultText if the README is right',
      ]);
    });

    it("a wrong default worded in text", () => {
      const readme = withRow("| unset (unlimited)  ", "| unlimited          ");
      expect(readmeProblems(readme)).toEqual([expect.stringContaining('`UPSTREAM_MAX_RPS` the default "unlimited"')]);
      expect(readmeProblems(readme)[0]).toContain('says "unset (unlimited)"');
    });

    it("a grouped row with too few defaults", () => {
      const readme = withRow("| `50` / `100`  ", "| `50`         ");
      expect(readmeProblems(readme)).toEqual([expect.stringContaining('must give 2 defaults separated by " / ": `50` / `100`')]);
    });

    it("a variable listed twice", () => {
      const readme = withRow("| `DELIVERY_TIMEOUT_MS`  ", "| `LEASE_MS`             ");
      expect(readmeProblems(readme)).toContainEqual(expect.stringMatching(/^README\.md lists `LEASE_MS` twice/));
    });
  });
});
