import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../../src/api/cursor.js";
import { MAX_JSON_DEPTH, MetadataSchema, jsonDepth } from "../../../src/api/schemas.js";
import { ValidationError } from "../../../src/errors.js";
import { safeEqual, sha256Hex, stableStringify } from "../../../src/lib/hash.js";
import { newId } from "../../../src/lib/ids.js";
import { createSeededRandom, systemRandom, type Random } from "../../../src/lib/random.js";
import { parseRetryAfterMs } from "../../../src/lib/retry-after.js";
import { isDatabaseUnavailable } from "../../../src/db/connection-loss.js";

const T0 = Date.UTC(2026, 0, 1);
const ID_PATTERN = /^[a-z]+_[0-9a-hjkmnp-tv-z]{26}$/; // Crockford base32, lower case: no i, l, o, u

describe("newId", () => {
  it.each(["wch", "msg", "ten"])("is %s_ + 10 time chars + 16 random chars", (prefix) => {
    const id = newId(prefix, systemRandom, T0);
    expect(id.startsWith(`${prefix}_`)).toBe(true);
    expect(id).toHaveLength(prefix.length + 1 + 26);
    expect(id).toMatch(ID_PATTERN);
  });

  it.each<[number, string]>([
    [0, "0000000000"],
    [1, "0000000001"],
    [31, "000000000z"],
    [32, "0000000010"],
    [T0, "01kdvdna00"], // checked independently (python, Crockford base32)
  ])("encodes %i ms as %s", (ms, time) => {
    expect(newId("x", systemRandom, ms).slice(2, 12)).toBe(time);
  });

  it("encodes 10 zero bytes as 16 zeros and 10 0xff bytes as 16 z", () => {
    const zeros: Random = { float: () => 0, bytes: (n) => Buffer.alloc(n, 0) };
    const ones: Random = { float: () => 0, bytes: (n) => Buffer.alloc(n, 0xff) };
    expect(newId("x", zeros, 0)).toBe(`x_${"0".repeat(26)}`);
    expect(newId("x", ones, 0).slice(12)).toBe("z".repeat(16));
  });

  it("sorts by creation time: ids made at increasing ms sort increasingly", () => {
    const times = [0, 1, 31, 32, 999, 1_000, T0 - 1, T0, T0 + 1, T0 + 86_400_000, 2 ** 45];
    const random = createSeededRandom(1);
    const ids = times.map((ms) => newId("wch", random, ms));
    expect([...ids].sort()).toEqual(ids);
    // random parts cannot override the time order
    const high: Random = { float: () => 0, bytes: (n) => Buffer.alloc(n, 0xff) };
    const low: Random = { float: () => 0, bytes: (n) => Buffer.alloc(n, 0) };
    expect(newId("wch", high, T0) < newId("wch", low, T0 + 1)).toBe(true);
  });

  it("10 000 ids made in the same millisecond are unique", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId("msg", systemRandom, T0)));
    expect(ids.size).toBe(10_000);
  });

  it("is deterministic with a seeded random, and differs between seeds", () => {
    const run = (seed: number) => {
      const random = createSeededRandom(seed);
      return Array.from({ length: 5 }, (_, i) => newId("wch", random, T0 + i));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    expect(new Set(run(42)).size).toBe(5);
  });
});

describe("stableStringify", () => {
  it.each<[string, unknown, string]>([
    ["a flat object, keys sorted", { b: 1, a: 2, c: 3 }, '{"a":2,"b":1,"c":3}'],
    [
      "nested objects and arrays",
      { z: [{ y: 1, x: 2 }], a: { d: { f: 1, e: 2 } } },
      '{"a":{"d":{"e":2,"f":1}},"z":[{"x":2,"y":1}]}',
    ],
    ["array order kept", [3, 1, 2], "[3,1,2]"],
    ["undefined properties dropped", { a: undefined, b: 1 }, '{"b":1}'],
    ["undefined in arrays → null", [undefined, 1], "[null,1]"],
    ["null", null, "null"],
    ["undefined", undefined, "null"],
    ["a string with quotes", 'say "hi"', '"say \\"hi\\""'],
    ["numbers and booleans", { n: 1.5, t: true, f: false }, '{"f":false,"n":1.5,"t":true}'],
    ["unicode keys sorted by code unit", { é: 1, e: 2, Z: 3 }, '{"Z":3,"e":2,"é":1}'],
    ["empty containers", { a: {}, b: [] }, '{"a":{},"b":[]}'],
  ])("%s", (_label, value, expected) => {
    expect(stableStringify(value)).toBe(expected);
  });

  it("is independent of key insertion order, at every level", () => {
    const a = { events: ["job.completed"], metadata: { order: { id: 1, lines: [{ sku: "x", qty: 2 }] }, tag: "t" }, job_id: "j" };
    const b = { job_id: "j", metadata: { tag: "t", order: { lines: [{ qty: 2, sku: "x" }], id: 1 } }, events: ["job.completed"] };
    expect(stableStringify(a)).toBe(stableStringify(b));
    expect(JSON.parse(stableStringify(a))).toEqual(a);
  });

  it("tells different values apart", () => {
    expect(stableStringify({ a: [1, 2] })).not.toBe(stableStringify({ a: [2, 1] }));
    expect(stableStringify({ a: 1 })).not.toBe(stableStringify({ a: "1" }));
    expect(stableStringify({ a: { b: 1 } })).not.toBe(stableStringify({ "a.b": 1 }));
  });
});

describe("safeEqual", () => {
  it.each<[string, string, boolean]>([
    ["secret", "secret", true],
    ["", "", true],
    ["secret", "Secret", false],
    ["secret", "secret ", false],
    ["secret", "", false],
    ["a".repeat(1000), "a".repeat(1000), true],
    ["a".repeat(1000), "a".repeat(999), false],
  ])("%j vs %j → %s", (a, b, expected) => {
    expect(safeEqual(a, b)).toBe(expected);
  });
});

describe("sha256Hex", () => {
  it("is the hex SHA-256", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("parseRetryAfterMs", () => {
  const now = new Date(T0);
  it.each<[string, string | string[] | undefined, number | undefined]>([
    ["seconds", "7", 7_000],
    ["zero seconds", "0", 0],
    ["seconds with spaces", " 120 ", 120_000],
    ["an HTTP date 30 s ahead", "Thu, 01 Jan 2026 00:00:30 GMT", 30_000],
    ["an HTTP date an hour ahead", new Date(T0 + 3_600_000).toUTCString(), 3_600_000],
    ["the HTTP date of now", "Thu, 01 Jan 2026 00:00:00 GMT", 0],
    ["a past HTTP date → 0", "Wed, 31 Dec 2025 23:00:00 GMT", 0],
    ["garbage", "soon", undefined],
    ["garbage with digits", "3 seconds", undefined],
    ["a negative number (Date.parse would read a year)", "-5", undefined],
    ["a fraction", "1.5", undefined],
    ["empty", "", undefined],
    ["absent", undefined, undefined],
    ["an array: the first value", ["3", "9"], 3_000],
    ["an array with a date first", ["Thu, 01 Jan 2026 00:00:05 GMT", "9"], 5_000],
    ["an empty array", [], undefined],
  ])("%s", (_label, value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });
});

describe("encodeCursor / decodeCursor", () => {
  it.each([
    { createdAt: new Date("2026-01-01T00:00:00.000Z"), id: "wch_01kdwyjk00abcdefghjkmnpqrs" },
    { createdAt: new Date("1999-12-31T23:59:59.999Z"), id: "x" },
    { createdAt: new Date(0), id: "a".repeat(64) },
  ])("round trips %o", (cursor) => {
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // base64url: safe in a query string
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

  it.each<[string, string]>([
    ["garbage", "!!!not a cursor!!!"],
    ["empty", ""],
    ["base64 of non-JSON", b64("hello")],
    ["an object", b64({ createdAt: "2026-01-01T00:00:00.000Z", id: "x" })],
    ["a one-element array", b64(["2026-01-01T00:00:00.000Z"])],
    ["a three-element array", b64(["2026-01-01T00:00:00.000Z", "x", "y"])],
    ["numbers", b64([1, 2])],
    ["an id that is not a string", b64(["2026-01-01T00:00:00.000Z", 5])],
    ["a bad date", b64(["not a date", "wch_1"])],
    ["an id longer than 64", b64(["2026-01-01T00:00:00.000Z", "a".repeat(65)])],
    ["null", b64(null)],
  ])("%s → ValidationError invalid_cursor", (_label, raw) => {
    let error: unknown;
    try {
      decodeCursor(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: "invalid_cursor",
      status: 400,
      details: [{ path: "cursor", message: "invalid cursor" }],
    });
  });
});

describe("jsonDepth", () => {
  it.each<[string, unknown, number]>([
    ["a number", 1, 0],
    ["a string", "x", 0],
    ["null", null, 0],
    ["an empty object", {}, 1],
    ["an empty array", [], 1],
    ["a flat object", { a: 1, b: "x", c: null }, 1],
    ["one nested object", { a: { b: 1 } }, 2],
    ["nested arrays", [[[]]], 3],
    ["the deepest branch counts", { a: 1, b: { c: { d: {} } }, e: { f: 1 } }, 4],
    ["arrays of objects", [{ a: [{ b: 1 }] }], 4],
  ])("%s → %i", (_label, value, expected) => {
    expect(jsonDepth(value)).toBe(expected);
  });

  const chain = (depth: number): unknown => {
    let value: unknown = {};
    for (let i = 1; i < depth; i++) value = { n: value };
    return value;
  };

  it.each<[number, number]>([
    [MAX_JSON_DEPTH, MAX_JSON_DEPTH],
    [MAX_JSON_DEPTH + 1, MAX_JSON_DEPTH + 1],
  ])("a chain %i deep measures %i at the default limit (%i)", (depth, expected) => {
    expect(jsonDepth(chain(depth))).toBe(expected);
  });

  it("stops counting just past the limit on a 100 000-deep structure, without throwing", () => {
    const deep = chain(100_000);
    expect(jsonDepth(deep)).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonDepth(deep, 5)).toBe(6);
    let arrays: unknown = [];
    for (let i = 0; i < 100_000; i++) arrays = [arrays];
    expect(jsonDepth(arrays, 10)).toBe(11);
  });

  it("MAX_JSON_DEPTH is 32", () => {
    expect(MAX_JSON_DEPTH).toBe(32);
  });

  // The relay's own limit, whatever the runtime's: metadata deeper than MAX_JSON_DEPTH is refused by the depth
  // check, before the size check serializes it (a recursive JSON.stringify that older V8s overflow on).
  const refusal = (value: unknown) => MetadataSchema.safeParse(value).error?.issues.map((issue) => issue.message);

  it.each([MAX_JSON_DEPTH + 1, 1_000, 100_000])("metadata %i deep is refused as too deep, without throwing", (depth) => {
    expect(refusal(chain(depth))).toEqual([`nests deeper than ${MAX_JSON_DEPTH} levels`]);
  });

  it("metadata exactly MAX_JSON_DEPTH deep is accepted", () => {
    expect(refusal(chain(MAX_JSON_DEPTH))).toBeUndefined();
  });
});

describe("isDatabaseUnavailable", () => {
  it.each<[string, unknown, boolean]>([
    ["connection refused", { code: "ECONNREFUSED" }, true],
    ["postgres.js closed connection", { code: "CONNECTION_CLOSED" }, true],
    ["admin shutdown", { code: "57P01" }, true],
    ["a connection exception class", { code: "08006" }, true],
    [
      "nested in a drizzle query error",
      new Error("Failed query", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) }),
      true,
    ],
    ["a unique violation", { code: "23505" }, false],
    ["a syntax error", { code: "42601" }, false],
    ["no code", new Error("boom"), false],
    ["not an object", "ECONNREFUSED", false],
  ])("%s", (_label, err, expected) => {
    expect(isDatabaseUnavailable(err)).toBe(expected);
  });
});
