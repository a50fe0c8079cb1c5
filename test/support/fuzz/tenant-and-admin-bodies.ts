/** Bodies of the other routes: key rotation, delivery recovery, tenants, Rendley keys and API key labels. */
import fc from "fast-check";
import { anyJson, hostileString, J, objectText, weighted } from "./hostile-text.js";

export const present = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  weighted<T | undefined>([10, valid], [2, hostile], [1, fc.constant(undefined)]);
export const optional = <T>(valid: fc.Arbitrary<T>) => weighted<T | undefined>([5, fc.constant(undefined)], [4, valid]);

export const isoDate = weighted<string>(
  [4, fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toISOString())],
  [
    2,
    fc.constantFrom(
      "2026-01-01T00:00:00Z",
      "2026-01-01T00:00:00+14:00",
      "2026-01-01T00:00:00-23:59",
      "0000-01-01T00:00:00Z",
      "0001-01-01T00:00:00Z",
      "9999-12-31T23:59:59-23:59",
      "+275760-09-13T00:00:00.000Z",
      "2026-02-30T00:00:00Z",
      "2026-01-01T24:00:00Z",
      "2026-01-01",
      "2026-01-01T00:00:00",
      "2026-01-01T00:00:00.123456789Z",
      "now",
      "",
    ),
  ],
  [1, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())],
  [1, hostileString],
);
export const recoverBody = fc
  .record({ since: present(isoDate.map(J), anyJson), until: optional(weighted<string>([4, isoDate.map(J)], [1, anyJson])) })
  .map(({ since, until }) =>
    objectText([
      ["since", since],
      ["until", until],
    ]),
  );
export const rotateBody = weighted<string>(
  [3, fc.integer({ min: 0, max: 604_800 }).map((g) => J({ grace_period_s: g }))],
  [1, fc.constant("{}")],
  [1, fc.constant("")],
  [
    2,
    fc
      .constantFrom("-1", "604801", "1.5", "1e308", '"10"', "null", "[]", "1e400", "9007199254740993")
      .map((g) => `{"grace_period_s":${g}}`),
  ],
  [1, anyJson.map((t) => `{"grace_period_s":${t}}`)],
);
export const rendleyKey = weighted<string>(
  [3, fc.stringMatching(/^[\x21-\x7e]{8,60}$/).map(J)],
  [1, fc.constantFrom("short", "has space inside", "a".repeat(513), "ключ-ключ-ключ", "\u0000".repeat(8)).map(J)],
  [1, anyJson],
);
export const tenantName = weighted<string>(
  [3, fc.string({ minLength: 1, maxLength: 40 }).map(J)],
  [2, hostileString.map(J)],
  [1, fc.constantFrom("a".repeat(100), "a".repeat(101), `  ${"b".repeat(100)}  `, "   ", "é".repeat(100)).map(J)],
  [1, anyJson],
);
export const tenantBody = fc
  .record({ name: present(tenantName, anyJson), rendley_api_key: optional(rendleyKey) })
  .map(({ name, rendley_api_key }) =>
    objectText([
      ["name", name],
      ["rendley_api_key", rendley_api_key],
    ]),
  );
export const rendleyKeyBody = present(rendleyKey, anyJson).map((k) => objectText([["rendley_api_key", k]]));
export const labelBody = weighted<string | undefined>(
  [2, fc.constant(undefined)],
  [1, fc.constant("{}")],
  [3, tenantName.map((l) => objectText([["label", l]]))],
);
