/**
 * POST /v1/watches bodies: each field has a valid half (which may still be refused: a blocked host, 4 KiB of
 * metadata) and a hostile half (wrong types, junk, limits crossed).
 */
import fc from "fast-check";
import { JOB_EVENTS } from "../../../src/domain/events.js";
import { callbackUrl } from "./hosts-and-urls.js";
import { anyJson, hostileString, huge, J, nestedText, objectText, weighted } from "./hostile-text.js";

const callbackUrlValid = weighted<string>(
  [
    1,
    fc.constantFrom("http://127.0.0.1:9/hook", "https://8.8.8.8/hook", "http://hooks.public.test/x", "https://[2606:4700::1]/h"),
  ],
  [4, callbackUrl],
);
const callbackUrlHostile = weighted<string>(
  [
    3,
    fc
      .constantFrom(
        "",
        "/relative",
        "//8.8.8.8/x",
        "javascript:alert(1)",
        "http://169.254.169.254/latest/meta-data",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0/",
        "http://[::ffff:127.0.0.2]/",
        "https://u:p@8.8.8.8/",
        "http://8.8.8.8:99999/",
        "http://%5B::1%5D/",
        "http://8.8.8.8\\@127.0.0.2/",
        "http://8.8.8.8/\r\nX: 1",
      )
      .map(J),
  ],
  [1, huge(2_030, 10_000).map((s) => J(`http://8.8.8.8/${s}`))],
  [1, anyJson],
);

const jobIdValid = weighted<string>(
  [8, fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/)],
  [1, fc.constantFrom("j".repeat(128), "a", "job.completed", "..", "-", ":")],
);
const jobIdHostile = weighted<string>(
  [2, fc.constantFrom("j".repeat(129), "a b", "../x", "job/1", "é", "", "a\u0000", "job;drop", "' or 1=1 --").map(J)],
  [1, huge(129, 10_000, "j").map(J)],
  [1, hostileString.map(J)],
  [1, anyJson],
);

const eventsValid = fc.subarray([...JOB_EVENTS], { minLength: 1 });
const eventsHostile = weighted<string>(
  [
    2,
    fc
      .constantFrom<unknown>(
        [],
        ["job.completed", "job.completed"],
        Array(5).fill("job.completed"),
        ["watch.expired"],
        ["JOB.COMPLETED"],
        ["job.*"],
        [null],
        [["job.completed"]],
        "job.completed",
        Array(1000).fill("job.failed"),
      )
      .map(J),
  ],
  [1, fc.array(hostileString, { maxLength: 5 }).map(J)],
  [1, anyJson],
);

const metadataValid = weighted<string>(
  [6, fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).map(J)],
  [
    2,
    fc
      .dictionary(fc.string({ unit: "grapheme", maxLength: 10 }), fc.jsonValue({ maxDepth: 2, stringUnit: "grapheme" }), {
        maxKeys: 4,
      })
      .map(J),
  ],
  [1, fc.constantFrom(1, 2, 31, 32).map((depth) => nestedText(depth, "object"))],
  [1, fc.integer({ min: 4_070, max: 4_100 }).map((n) => J({ pad: "a".repeat(n - 10) }))],
  [1, fc.constantFrom("null", "{}", '{"a":1,"a":2}', '{"__proto__":{"polluted":1}}', '{"a":1e400}')],
);
const metadataHostile = weighted<string>(
  [
    2,
    fc
      .tuple(fc.constantFrom(33, 100, 1_000, 5_000, 13_000), fc.constantFrom<"object" | "mixed">("object", "mixed"))
      .map(([d, k]) => nestedText(d, k)),
  ],
  [1, fc.constantFrom(100 * 1024, 30 * 1024, 4_097).map((n) => J({ pad: "a".repeat(n) }))],
  [
    2,
    fc.constantFrom(
      "[]",
      '"x"',
      "1",
      "true",
      '{"constructor":{"prototype":{"x":1}}}',
      '{"a":"\\u0000"}',
      '{"\\u0000":1}',
      '{"a":"\\ud800"}',
      `{${Array.from({ length: 600 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
      `{"a":${nestedText(40, "array")}}`,
    ),
  ],
  [
    1,
    fc
      .dictionary(
        hostileString,
        anyJson.map((t) => JSON.parse(t) as unknown),
        { maxKeys: 3 },
      )
      .map(J),
  ],
  [1, anyJson],
);

const retryValid = weighted<string>(
  [
    5,
    fc
      .array(fc.constantFrom("10s", "1m", "5ms", "1h", "0ms", "2d", "500ms"), { minLength: 1, maxLength: 6 })
      .map((a) => a.join(",")),
  ],
  [1, fc.constantFrom("none", Array(20).fill("1s").join(","), "7d")],
);
const retryHostile = weighted<string>(
  [
    3,
    fc
      .constantFrom(
        "",
        ",",
        "1e3ms",
        "-1s",
        "１s",
        "10",
        "10 s",
        " 10s ",
        "7d,1ms",
        "99999999999999999999d",
        Array(21).fill("1s").join(","),
        "1s,".repeat(150),
        "NaN s",
        "Infinityms",
        "0x10s",
      )
      .map(J),
  ],
  [1, hostileString.map(J)],
  [1, anyJson],
);

const headerName = fc.stringMatching(/^X-[A-Za-z0-9-]{1,20}$/);
const headersValid = fc.dictionary(headerName, fc.stringMatching(/^[\x20-\x7e]{0,40}$/), { maxKeys: 5 });
const headersHostile = weighted<string>(
  [1, fc.dictionary(headerName, fc.string({ maxLength: 5 }), { minKeys: 6, maxKeys: 8 }).map(J)],
  [
    4,
    fc
      .constantFrom<Record<string, unknown>>(
        { "X-A": "a\r\nX-Injected: 1" },
        { "X-A": "a\nb" },
        { "Content-Type": "text/plain" },
        { HOST: "evil.test" },
        { "Webhook-Signature": "v1,x" },
        { "proxy-authorization": "x" },
        { "Transfer-Encoding": "chunked" },
        { te: "trailers" },
        { Connection: "close" },
        { "Content-Length": "0" },
        { "User-Agent": "x" },
        { "X A": "space" },
        { "X:A": "colon" },
        { "X-É": "unicode" },
        { "": "empty name" },
        { "X-A": "1", "x-a": "2" },
        { "X-A": "é" },
        { "X-A": "\u0000" },
        { "X-A": "a".repeat(1025) },
        { "X-A": 1 },
        { "X-A": null },
        { ["a".repeat(65)]: "long name" },
      )
      .map(J),
  ],
  [1, fc.constantFrom('{"__proto__":"x"}', '{"constructor":"y","toString":"z"}', "[]", '"X-A: b"', "null")],
  [1, anyJson],
);

/** Every member of a watch body, valid and hostile, as JSON texts. */
export const WATCH_FIELDS = {
  job_id: { valid: jobIdValid.map(J), hostile: jobIdHostile, required: true },
  callback_url: { valid: callbackUrlValid.map(J), hostile: callbackUrlHostile, required: true },
  events: { valid: eventsValid.map(J), hostile: eventsHostile, required: false },
  metadata: { valid: metadataValid, hostile: metadataHostile, required: false },
  retry_schedule: { valid: retryValid.map(J), hostile: retryHostile, required: false },
  callback_headers: { valid: headersValid.map(J), hostile: headersHostile, required: false },
} as const;
type WatchField = keyof typeof WATCH_FIELDS;
const FIELD_NAMES = Object.keys(WATCH_FIELDS) as WatchField[];

/** A valid body: the required members, and each optional one half the time. */
const validMembers = fc.record(
  Object.fromEntries(
    FIELD_NAMES.map((name) => {
      const field = WATCH_FIELDS[name];
      return [name, field.required ? field.valid : weighted<string | undefined>([1, fc.constant(undefined)], [1, field.valid])];
    }),
  ) as Record<WatchField, fc.Arbitrary<string | undefined>>,
);
const unknownMember = fc.tuple(
  fc.constantFrom("callbackUrl", "status", "id", "tenant_id", "__proto__", "job_id ", "", "JOB_ID", "metadata\u0000"),
  anyJson,
);

export const watchBody: fc.Arbitrary<string> = weighted<Array<[string, string | undefined]>>(
  // A valid body.
  [3, validMembers.map((m) => Object.entries(m))],
  // A valid body with one member changed: hostile, left out, or an unknown member added.
  [
    5,
    fc
      .tuple(validMembers, fc.constantFrom(...FIELD_NAMES), fc.nat(9))
      .chain(([members, name, how]) =>
        how === 0
          ? fc.constant([...Object.entries(members), [name, undefined]] as Array<[string, string | undefined]>)
          : how === 1
            ? unknownMember.map((extra) => [...Object.entries(members), extra] as Array<[string, string | undefined]>)
            : WATCH_FIELDS[name].hostile.map(
                (bad) => Object.entries({ ...members, [name]: bad }) as Array<[string, string | undefined]>,
              ),
      ),
  ],
  // Every member drawn independently.
  [
    2,
    fc
      .record(
        Object.fromEntries(
          FIELD_NAMES.map((name) => [
            name,
            weighted<string | undefined>(
              [5, WATCH_FIELDS[name].valid],
              [3, WATCH_FIELDS[name].hostile],
              [2, fc.constant(undefined)],
            ),
          ]),
        ) as Record<WatchField, fc.Arbitrary<string | undefined>>,
      )
      .map((m) => Object.entries(m)),
  ],
)
  .chain((members) => fc.boolean().map((reversed) => (reversed ? [...members].reverse() : members)))
  .map(objectText);
