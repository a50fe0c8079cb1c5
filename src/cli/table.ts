/** Control characters (newlines, terminal escapes a receiver could put in a response) become spaces. */
export function clean(value: unknown, max = 80): string {
  if (value === null || value === undefined || value === "") return "-";
  const text = (typeof value === "string" ? value : JSON.stringify(value)).replace(/[\x00-\x1f\x7f-\x9f]/g, " ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `2026-11-27T05:07:04.577Z` → `2026-11-27 05:07:04Z`. */
export function time(value: string | null | undefined): string {
  if (!value) return "-";
  return value.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Aligned columns, two spaces apart, headers in capitals. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join("\n");
}

/** `label  value` lines, labels aligned. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}
