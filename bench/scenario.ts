import type { DatabaseTarget } from "./database.js";

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  readonly quick: boolean;
  readonly seed: number;
  readonly target: DatabaseTarget;
  /** Machine, Node and Postgres versions (stored in every result file). */
  readonly machine: Record<string, unknown>;
  /** Progress line on stderr. */
  log(message: string): void;
}

/** One target of the final table. `met` is null when the figure could not be measured. */
export interface Check {
  name: string;
  value: string;
  target: string;
  met: boolean | null;
}

/** What a scenario hands back: the table row, the checks, and everything measured (written to its JSON). */
export interface ScenarioResult {
  scenario: string;
  /** The key figures, one line. */
  figures: string;
  checks: Check[];
  data: Record<string, unknown>;
  /** Set when the scenario did not run (e.g. replicas on PGlite). */
  skipped?: string;
  /** Set when it failed part-way; `data` holds what was measured before. */
  error?: string;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

/** A check of `value ≥ min` (or ≤ max); null values are unmet-unknown. */
export function atLeast(name: string, value: number | null | undefined, min: number, unit = "", digits = 0): Check {
  return {
    name,
    value: value == null ? "n/a" : `${fmt(value, digits)}${unit}`,
    target: `≥ ${fmt(min, digits)}${unit}`,
    met: value == null ? null : value >= min,
  };
}

export function atMost(name: string, value: number | null | undefined, max: number, unit = "", digits = 0): Check {
  return {
    name,
    value: value == null ? "n/a" : `${fmt(value, digits)}${unit}`,
    target: `≤ ${fmt(max, digits)}${unit}`,
    met: value == null ? null : value <= max,
  };
}

/** A number with thousands separators and `digits` decimals. */
export function fmt(value: number | null | undefined, digits = 0): string {
  if (value == null || Number.isNaN(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
