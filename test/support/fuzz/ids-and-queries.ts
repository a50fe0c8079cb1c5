/** Path ids (the fixtures' own, another tenant's, hostile ones) and query strings (list filters, cursors, cancel). */
import fc from "fast-check";
import { hostileString, huge, J, weighted, wellFormed } from "./hostile-text.js";
import type { Fixtures, Route } from "./routes.js";

/** Ids for the {id}, {tid} and {kid} of a route, and the query string for a route's kind of query. */
export function idAndQueryArbitraries(fx: Fixtures) {
  const hostileId = weighted<string>(
    [
      4,
      fc.constantFrom(
        "",
        "..",
        "../",
        "../../admin/tenants",
        "%2e%2e%2f",
        "%00",
        "a%00b",
        "' or 1=1 --",
        "'; drop table watches; --",
        "😀",
        "wch_",
        "%ZZ",
        "%",
        "%E0%A4%A",
        "%ED%A0%80",
        "%FF%FE",
        "null",
        "__proto__",
        "constructor",
        `wch_${"0".repeat(26)}`,
        "%20",
        "a;b",
        "a?b=c",
        "a#b",
        "\\",
        "\u0000",
        "%C0%AF",
      ),
    ],
    [1, huge(60, 10_000)],
    [2, fc.string({ unit: "binary", maxLength: 40 })],
    [2, fc.string({ unit: "grapheme", maxLength: 40 })],
    [2, fc.stringMatching(/^wch_[0-9a-z]{0,40}$/)],
  );
  const watchId = weighted<string>(
    [4, fc.constantFrom(...fx.watchIds)],
    [1, fc.constant(fx.foreignWatchId)],
    [1, fc.constantFrom(...fx.watchIds).map((id) => id.toUpperCase())],
    [4, hostileId],
  );
  const tenantId = weighted<string>([4, fc.constant(fx.victimTenantId)], [3, hostileId]);
  const keyId = weighted<string>([3, fc.constant(fx.victimKeyId)], [3, hostileId]);

  const enc = (s: string, raw: boolean) => (raw ? s : encodeURIComponent(wellFormed(s)));
  const cursorArb = weighted<string>(
    [2, fc.constant(fx.cursor)],
    [
      1,
      fc
        .nat(fx.cursor.length - 1)
        .map((i) => fx.cursor.slice(0, i) + (fx.cursor[i] === "A" ? "B" : "A") + fx.cursor.slice(i + 1)),
    ],
    [
      3,
      fc
        .constantFrom<unknown>(
          {},
          [],
          [1, 2],
          ["a"],
          ["2020-01-01T00:00:00Z", 5],
          ["2020-01-01T00:00:00Z", "x".repeat(65)],
          ["not a date", "x"],
          [1e308, "x"],
          ["2020-01-01T00:00:00Z", "x", "extra"],
          "string",
          null,
          ["0000-01-01T00:00:00Z", "wch_x"],
          ["+275760-09-13T00:00:00.000Z", "wch_x"],
          ["-000001-01-01T00:00:00Z", "wch_x"],
          ["2020-01-01T00:00:00Z", "a\u0000"],
          ["1", "x"],
          ["2020-01-01T00:00:00Z", "' or 1=1 --"],
        )
        .map((v) => Buffer.from(J(v)).toString("base64url")),
    ],
    [
      1,
      fc
        .tuple(fc.date({ noInvalidDate: true }), fc.string())
        .map(([d, id]) => Buffer.from(J([d.toISOString(), id])).toString("base64url")),
    ],
    [1, fc.constant(Buffer.from("1e400").toString("base64url"))],
    [1, fc.constant(Buffer.from(Buffer.from(fx.cursor, "base64url")).toString("base64"))],
    [2, hostileString],
    [1, huge(500, 600, "A")],
  );
  const listParam = weighted<[string, string]>(
    [
      3,
      fc.tuple(
        fc.constant("limit"),
        weighted<string>(
          [2, fc.integer({ min: -5, max: 250 }).map(String)],
          [
            2,
            fc.constantFrom(
              "-1",
              "0",
              "1",
              "200",
              "201",
              "1e9",
              "NaN",
              "1.5",
              " 1",
              "0x10",
              "１",
              "",
              "99999999999999999999999",
              "Infinity",
              "1,2",
            ),
          ],
        ),
      ),
    ],
    [
      2,
      fc.tuple(
        fc.constant("status"),
        fc.constantFrom("watching", "canceled", "delivered", "WATCHING", "", "x", "watching,canceled"),
      ),
    ],
    [2, fc.tuple(fc.constant("job_id"), weighted<string>([2, fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/)], [1, hostileString]))],
    [3, fc.tuple(fc.constant("cursor"), cursorArb)],
    [1, fc.tuple(fc.constantFrom("x", "", "limit[]", "__proto__", "cancel_job", "LIMIT"), hostileString)],
  );
  const cancelParam = fc.tuple(
    fc.constantFrom("cancel_job", "cancel_job", "cancel", "cancel_job[]"),
    fc.constantFrom("true", "false", "1", "0", "yes", "", "TRUE", "true&cancel_job=false"),
  );
  const queryFor = (kind: Route["query"]) =>
    fc
      .tuple(
        kind === "list"
          ? fc.array(listParam, { maxLength: 5 })
          : kind === "cancel"
            ? fc.array(cancelParam, { maxLength: 2 })
            : weighted<Array<[string, string]>>(
                [8, fc.constant([])],
                [1, fc.array(fc.tuple(hostileString, hostileString), { maxLength: 2 })],
              ),
        fc.boolean(),
      )
      .map(([params, raw]) =>
        params.length === 0 ? "" : `?${params.map(([k, v]) => `${enc(k, raw)}=${enc(v, raw)}`).join("&")}`,
      );

  return { watchId, tenantId, keyId, queryFor };
}
