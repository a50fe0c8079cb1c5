import { sql, type SQL } from "drizzle-orm";

/** A timestamp parameter. Dates go as ISO strings cast in SQL: drizzle rewrites postgres.js's date serializers. */
export function ts(date: Date): SQL {
  return sql`${date.toISOString()}::timestamptz`;
}

/**
 * A batch of records as ONE parameter (`jsonb_to_recordset(…)`): drizzle would expand a JS array into one
 * parameter per element, and a single JSON parameter behaves the same on PGlite and postgres.js.
 */
export function records(rows: readonly object[]): SQL {
  return sql`${JSON.stringify(rows)}::jsonb`;
}

/** A list of text values as one parameter, for `x in ${textList(values)}`. */
export function textList(values: readonly string[]): SQL {
  return sql`(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

/** Reads a timestamp column from a raw row: PGlite gives a Date, postgres.js (under drizzle) a string. */
export function toDate(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}

/** Reads a JSON column from a raw row (a string when the driver did not parse it). */
export function toJson<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/**
 * A list of the domain's own words (statuses) written into the statement as literals, `('a', 'b')`. Only
 * where a partial index's predicate must be matched when the statement is planned (a parameter would hide
 * the values from the planner); everywhere else lists go as parameters (`textList`).
 * @throws on anything but lowercase words: never for input
 */
export function literalList(words: readonly string[]): SQL {
  if (words.length === 0 || !words.every((w) => /^[a-z_.]+$/.test(w))) throw new Error(`not a list of words: ${words.join()}`);
  return sql.raw(`(${words.map((w) => `'${w}'`).join(", ")})`);
}
