/** Bodies of any shape, and valid watch bodies of an exact size (the body limit is checked to the byte). */
import fc from "fast-check";
import { MAX_BODY_BYTES } from "./constants.js";
import { anyJson, nestedText, weighted } from "./hostile-text.js";
import { watchBody } from "./watch-bodies.js";

/** Bodies of any shape: not JSON, truncated, scalars, BOMs, deep arrays, over the size limit, not UTF-8. */
export const hostileBody: fc.Arbitrary<string | Uint8Array> = weighted<string | Uint8Array>(
  [2, fc.string({ unit: "grapheme", maxLength: 50 })],
  [
    2,
    fc.constantFrom(
      "",
      " ",
      "{nope",
      "{",
      "}",
      "undefined",
      "NaN",
      "Infinity",
      "'single'",
      "1",
      "null",
      "true",
      '"str"',
      "[]",
      "[1,2]",
      "{}",
      '{"a":1}{"b":2}',
      "\ufeff{}",
      "{/*c*/}",
      '{"job_id":"j",}',
    ),
  ],
  [2, fc.tuple(watchBody, fc.double({ min: 0, max: 1, noNaN: true })).map(([b, at]) => b.slice(0, Math.floor(b.length * at)))],
  [1, fc.constantFrom(10_000, 60_000).map((d) => "[".repeat(d) + "]".repeat(d))],
  [1, fc.constant(nestedText(12_000, "object"))],
  [1, fc.constantFrom(MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 70_000, 1 << 20).map(sizedBody)],
  [1, fc.uint8Array({ maxLength: 200 })],
  [
    1,
    fc.constantFrom(
      Buffer.from('{"job_id":"j","callback_url":"http://127.0.0.1:9/\xff\xfe","metadata":{"a":"\xc3\x28"}}', "latin1"),
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
      Buffer.from('{"job_id":"j\xc0\xaf","callback_url":"http://127.0.0.1:9/"}', "latin1"),
    ),
  ],
  [1, anyJson],
);

/** A valid watch body of exactly `bytes` bytes (the size limit is checked to the byte). */
export function sizedBody(bytes: number): string {
  const head = '{"job_id":"sized","callback_url":"http://127.0.0.1:9/s","metadata":{"pad":"';
  const tail = '"}}';
  return head + "a".repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}
