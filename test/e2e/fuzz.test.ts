/**
 * Fuzzing the HTTP API: thousands of random and hostile requests (wrong types, huge strings, unicode, nested
 * JSON, bad cursors, bad ids, bad headers, raw bytes) against one relay. Properties: no 5xx, every refusal
 * has the error envelope and no stack trace, nothing but a valid key ever gets a 2xx from /v1, idempotency
 * keys never make two watches, and afterwards every stored row satisfies the API's own rules.
 *
 * Network safety: the delivery worker and the scheduler are stopped before the first fuzzed request (nothing is
 * polled or delivered, checked at the end: no delivery attempt is ever made), and the relay's resolver is a
 * double, so no fuzzed host name ever reaches real DNS (`*.public.test` answers a public address, `*.flaky.test`
 * fails transiently, every other name is ENOTFOUND).
 *
 * Replay: the seed is printed (`{"fuzzSeed":…}`); `FUZZ_SEED=<seed> npx vitest run test/e2e/fuzz.test.ts`
 * replays a run, `FUZZ_SCALE=3` sends three times as many requests.
 *
 * KNOWN_BUGS can list a bug found and not fixed yet: a 5xx is then tolerated only when the request carries
 * its trigger AND the relay logged its database error, next to a failing test named after it. It is empty:
 * every bug found so far is fixed and has a regression test at the end of this file.
 */
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.js";
import { JOB_EVENTS } from "../../src/domain/events.js";
import { checkCallbackUrl, type Resolver } from "../../src/security/callback-url.js";
import { isBlockedAddress, parseHost } from "../../src/security/ip-address.js";
import { startWorld, TEST_API_KEY, type TestWorld } from "../support/relay-harness.js";

const ADMIN_KEY = "admin-key-0123456789abcdefXYZ";
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2_147_483_647;
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const IN_PROCESS_RUNS = Math.round(3_300 * SCALE);
const FETCH_RUNS = Math.round(240 * SCALE);
const RAW_RUNS = Math.round(160 * SCALE);
const MAX_BODY_BYTES = 64 * 1024;
const BASE = "http://relay.test";

// ---------------------------------------------------------------------------------------------------------
// The resolver double (registration-time DNS) and what it answered, per name.

type DnsAnswer = { kind: "addresses"; addresses: string[] } | { kind: "transient" } | { kind: "not_found" };
const DNS_ZONES: ReadonlyArray<readonly [string, DnsAnswer]> = [
  ["public.test", { kind: "addresses", addresses: ["93.184.215.14"] }],
  ["public6.test", { kind: "addresses", addresses: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] }],
  ["loopback.test", { kind: "addresses", addresses: ["127.0.0.1"] }], // allowlisted address
  ["loopback2.test", { kind: "addresses", addresses: ["127.0.0.2"] }],
  ["private.test", { kind: "addresses", addresses: ["10.1.2.3"] }],
  ["metadata.test", { kind: "addresses", addresses: ["169.254.169.254"] }],
  ["mixed.test", { kind: "addresses", addresses: ["93.184.215.14", "10.0.0.1"] }],
  ["mapped.test", { kind: "addresses", addresses: ["::ffff:169.254.169.254"] }],
  ["garbage.test", { kind: "addresses", addresses: ["not-an-address"] }],
  ["empty.test", { kind: "addresses", addresses: [] }],
  ["flaky.test", { kind: "transient" }],
];
const dnsLog = new Map<string, DnsAnswer>();
const dnsError = (code: string, name: string) => Object.assign(new Error(`getaddrinfo ${code} ${name}`), { code });
const registrationResolver: Resolver = async (name) => {
  const zone = DNS_ZONES.find(([suffix]) => name === suffix || name.endsWith(`.${suffix}`));
  const answer: DnsAnswer = zone?.[1] ?? { kind: "not_found" };
  dnsLog.set(name, answer);
  if (answer.kind === "transient") throw dnsError("EAI_AGAIN", name);
  if (answer.kind === "not_found") throw dnsError("ENOTFOUND", name);
  return answer.addresses;
};
/** The end-of-run check's resolver: refuses every name, so only IP literals and allowlisted hosts pass. */
const refuseAll: Resolver = async () => {
  throw Object.assign(new Error("x"), { code: "ENOTFOUND" });
};

// ---------------------------------------------------------------------------------------------------------
// Requests.

/** One fuzzed request, as sent in-process or with fetch. */
interface Spec {
  method: string;
  /** Path and query, as the client writes them (the URL parser normalises them like a real client's). */
  path: string;
  headers: Array<[string, string]>;
  body?: string | Uint8Array | undefined;
  /** Send it twice (idempotency, repeatability). */
  repeat: boolean;
}

/** One fuzzed request as raw bytes over a socket (duplicate headers, bytes that are not UTF-8, parser abuse). */
interface RawSpec {
  method: string;
  target: Buffer;
  host: "normal" | "missing" | "twice" | "weird";
  headers: Array<[string, Buffer]>;
  body: Buffer;
  framing: "length" | "chunked" | "length-twice-same" | "length-twice-different" | "length-and-chunked";
}

interface Answer {
  status: number;
  body: string;
  contentType: string | null;
  /** false: Node's HTTP parser refused the request before any JavaScript saw it (no Date header). */
  fromServer: boolean;
}

const stats = {
  seed: SEED,
  sent: { inProcess: 0, fetch: 0, raw: 0 },
  unsendable: 0,
  byClass: {} as Record<string, number>,
  byStatus: {} as Record<string, number>,
  errorCodes: {} as Record<string, number>,
  fiveXx: 0,
  knownBug5xx: {} as Record<string, number>,
  /** Requests that got no answer at all, by known bug. */
  knownBugNoAnswer: {} as Record<string, number>,
  rejectedByNodeParser: 0,
  rejectedByAdapter: 0,
  idempotentRepeats: 0,
  watchesCreated: 0,
  watchesStored: 0,
  tenantsStored: 0,
  storedKnownBugRows: {} as Record<string, number>,
  acceptedOnRegistrationDns: {} as Record<string, number>,
  ms: 0,
};

const count = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};

// ---------------------------------------------------------------------------------------------------------
// Known bugs: a 5xx is excused only when the request has the trigger and the relay logged the database error.

interface Features {
  nul: boolean;
  loneSurrogate: boolean;
  extremeDate: boolean;
}

// Every bug this fuzz found (NUL and lone surrogates, out-of-range timestamps, percent-encoded URL length,
// 413 races, query parameters in error logs) is fixed and kept by a regression test below: no 5xx is tolerated.
const KNOWN_BUGS: ReadonlyArray<{ id: string; cause: RegExp; trigger: (f: Features) => boolean }> = [];

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Lone surrogates replaced by U+FFFD (what a UTF-8 encoder does; encodeURIComponent throws instead). */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, (m) => (m.length === 2 ? m : "\ufffd"));

/** %XX sequences decoded as bytes, the result read as UTF-8 (never throws). */
function percentDecode(s: string): string {
  const src = Buffer.from(s, "utf8");
  const out: number[] = [];
  const hex = (b: number | undefined) => b !== undefined && /[0-9a-f]/i.test(String.fromCharCode(b));
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25 && hex(src[i + 1]) && hex(src[i + 2])) {
      out.push(parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16));
      i += 2;
    } else out.push(src[i]!);
  }
  return Buffer.from(out).toString("utf8");
}

/** Every string (keys too) in a JSON value, without recursion (values nest thousands deep). */
function jsonStrings(value: unknown): string[] {
  const out: string[] = [];
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") out.push(v);
    else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (!Array.isArray(v)) out.push(k);
        stack.push(child);
      }
    }
  }
  return out;
}

const yearOutOfRange = (s: string) => {
  if (!/^[+-]?\d{4,6}-/.test(s)) return false;
  const d = new Date(s);
  return !Number.isNaN(d.getTime()) && (d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999);
};

function featuresOf(pathAndQuery: string, body: string | undefined): Features {
  const strings: string[] = [percentDecode(pathAndQuery)];
  const query = pathAndQuery.includes("?") ? pathAndQuery.slice(pathAndQuery.indexOf("?") + 1) : "";
  for (const pair of query.split("&")) {
    const [k, v = ""] = pair.split("=");
    if (k !== "cursor") continue;
    try {
      strings.push(...jsonStrings(JSON.parse(Buffer.from(percentDecode(v), "base64url").toString("utf8"))));
    } catch {
      // not a cursor-shaped value
    }
  }
  if (body !== undefined) {
    try {
      strings.push(...jsonStrings(JSON.parse(body)));
    } catch {
      strings.push(body);
    }
  }
  return {
    nul: strings.some((s) => s.includes("\u0000")),
    loneSurrogate: strings.some((s) => LONE_SURROGATE.test(s)),
    extremeDate: strings.some(yearOutOfRange),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Generators.

const J = (v: unknown) => JSON.stringify(v);
/** A JSON object's text from raw JSON member texts (undefined: the member is left out). */
const objectText = (members: Array<[string, string | undefined]>) =>
  `{${members
    .filter((m): m is [string, string] => m[1] !== undefined)
    .map(([k, v]) => `${J(k)}:${v}`)
    .join(",")}}`;
/** Nesting built as text, iteratively: JSON.stringify would overflow the stack thousands of levels down. */
function nestedText(depth: number, kind: "object" | "array" | "mixed"): string {
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
const toByteString = (s: string) =>
  Buffer.from(s, "utf8")
    .toString("latin1")
    .replace(/[\0\r\n]/g, "");
const weighted = <T>(...items: Array<[number, fc.Arbitrary<T>]>) =>
  fc.oneof(...items.map(([weight, arbitrary]) => ({ weight, arbitrary })));
const huge = (min: number, max: number, ch = "x") => fc.integer({ min, max }).map((n) => ch.repeat(n));

const hostileString: fc.Arbitrary<string> = weighted<string>(
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
const anyJson: fc.Arbitrary<string> = weighted<string>(
  [3, fc.jsonValue({ maxDepth: 3 }).map(J)],
  [1, fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }).map(J)],
  [1, hostileString.map(J)],
  [1, fc.constantFrom("1e400", "-0", "1e-400", "123456789012345678901234567890", "[]", "{}", "null", "true")],
);

// --- callback URLs

const INTERESTING_V4 = [
  0x7f000001, 0x7f000002, 0x0a000001, 0xa9fea9fe, 0, 0x64400001, 0xc0a80101, 0xac100001, 0xe0000001, 0xffffffff, 0x08080808,
  0x01010101, 0xc0000201, 0x7f7f7f7f, 0x5db8d70e,
];

/** One IPv4 address in one of the many spellings URL parsers and inet_aton accept (and a few they do not). */
function spellIpv4(n: number, style: number): string {
  const b = [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256);
  const [b0, b1, b2, b3] = b as [number, number, number, number];
  switch (style) {
    case 0:
      return b.join(".");
    case 1:
      return String(n);
    case 2:
      return `0x${n.toString(16)}`;
    case 3:
      return b.map((x) => `0x${x.toString(16)}`).join(".");
    case 4:
      return b.map((x) => `0${x.toString(8)}`).join(".");
    case 5:
      return `${b0}.${n % 2 ** 24}`;
    case 6:
      return `${b0}.${b1}.${b2 * 256 + b3}`;
    case 7:
      return `${b.join(".")}.`;
    case 8:
      return `0X${n.toString(16).toUpperCase().padStart(12, "0")}`;
    case 9:
      return `[::ffff:${b.join(".")}]`;
    case 10:
      return `[::${b.join(".")}]`;
    case 11:
      return `[64:ff9b::${b.join(".")}]`;
    case 12:
      return `[2002:${(b0 * 256 + b1).toString(16)}:${(b2 * 256 + b3).toString(16)}::1]`;
    case 13:
      return `${b0}.${b1}.${b2}.${b3 + 256}`;
    case 14:
      return `0${b0}.08.${b2}.${b3}`;
    default:
      return `${b0}.${b1}.${b2}.${b3}:${n % 65_536}`;
  }
}

const label = weighted<string>(
  [4, fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/)],
  [1, fc.string({ unit: "grapheme-composite", minLength: 1, maxLength: 8 })],
  [1, fc.constantFrom("xn--nxasmq6b", "ÉCOLE", "bücher", "ß", "a_b", "-x-", "a".repeat(70))],
);
const zone = fc.constantFrom(...DNS_ZONES.map(([suffix]) => suffix), "invalid", "example.invalid", "test");

const hostArb: fc.Arbitrary<string> = weighted<string>(
  [
    5,
    fc
      .tuple(fc.oneof(fc.constantFrom(...INTERESTING_V4), fc.nat({ max: 0xffffffff })), fc.nat(15))
      .map(([n, s]) => spellIpv4(n, s)),
  ],
  [2, fc.ipV4()],
  [1, fc.ipV4Extended()],
  [2, fc.ipV6().map((a) => `[${a}]`)],
  [
    1,
    fc.constantFrom(
      "[::1]",
      "[::]",
      "[0:0:0:0:0:0:0:1]",
      "[::ffff:7f00:1]",
      "[fe80::1]",
      "[fe80::1%25eth0]",
      "[fc00::1]",
      "[2606:4700:4700::1111]",
      "[::ffff:169.254.169.254]",
      "127.0.0.1",
      "127.0.0.1.",
    ),
  ],
  [5, fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), zone).map(([labels, z]) => [...labels, z].join("."))],
  [
    1,
    fc.constantFrom(
      "localhost",
      "LOCALHOST",
      "localhost.",
      "a.localhost",
      "x.invalid",
      "metadata.google.internal",
      "host.docker.internal",
      "",
      " ",
      "%31%32%37.0.0.1",
      "127。0。0。1",
      "ｌｏｃａｌｈｏｓｔ",
    ),
  ],
  [1, fc.string({ unit: "grapheme", maxLength: 20 })],
  [1, fc.domain()],
  [1, fc.integer({ min: 200, max: 2_100 }).map((n) => `${"a".repeat(n)}.public.test`)],
);

const urlPath: fc.Arbitrary<string> = weighted<string>(
  [6, fc.constantFrom("/hook", "/", "", "/hooks/rendley?x=1", "/a#frag")],
  [2, fc.webPath()],
  [2, fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => `/${s}`)],
  [1, fc.constantFrom("/%00", "/\u0000", "/../../etc/passwd", "/ space", '/"<>`{}', "/\\x", "/?#", "//x")],
  // Long paths around the 2048 limit, and short ones that percent-encoding makes long.
  [1, fc.integer({ min: 1_990, max: 2_100 }).map((n) => `/${"a".repeat(n)}`)],
  [
    1,
    fc.tuple(fc.integer({ min: 200, max: 1_900 }), fc.constantFrom("é", '"', " ", "😀", "ह")).map(([n, c]) => `/${c.repeat(n)}`),
  ],
);

const callbackUrl: fc.Arbitrary<string> = fc
  .record({
    scheme: weighted<string>(
      [10, fc.constantFrom("http", "https")],
      [1, fc.constantFrom("HTTP", "HtTpS", "ftp", "file", "javascript", "data", "ws", "gopher", "h ttp", "", "http+unix")],
    ),
    sep: weighted<string>([12, fc.constant("://")], [1, fc.constantFrom(":/", ":", ":///", ":\\\\", "://\t", "//")]),
    creds: weighted<string>(
      [12, fc.constant("")],
      [1, fc.constantFrom("u:p@", "u@", ":p@", "@", ":@", "%40@", "user:pa%3Ass@", "a@b@")],
    ),
    host: hostArb,
    port: weighted<string>(
      [8, fc.constant("")],
      [2, fc.integer({ min: 0, max: 70_000 }).map((p) => `:${p}`)],
      [1, fc.constantFrom(":", ":0", ":-1", ":abc", ":080", ":65535", ":65536", ":99999999999")],
    ),
    path: urlPath,
  })
  .map(({ scheme, sep, creds, host, port, path }) => `${scheme}${sep}${creds}${host}${port}${path}`);

// --- watch bodies: each field has a valid half (which may still be refused: a blocked host, 4 KiB of metadata)
// and a hostile half (wrong types, junk, limits crossed)

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
const WATCH_FIELDS = {
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

const watchBody: fc.Arbitrary<string> = weighted<Array<[string, string | undefined]>>(
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

const present = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  weighted<T | undefined>([10, valid], [2, hostile], [1, fc.constant(undefined)]);
const optional = <T>(valid: fc.Arbitrary<T>) => weighted<T | undefined>([5, fc.constant(undefined)], [4, valid]);

// --- other bodies

const isoDate = weighted<string>(
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
const recoverBody = fc
  .record({ since: present(isoDate.map(J), anyJson), until: optional(weighted<string>([4, isoDate.map(J)], [1, anyJson])) })
  .map(({ since, until }) =>
    objectText([
      ["since", since],
      ["until", until],
    ]),
  );
const rotateBody = weighted<string>(
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
const rendleyKey = weighted<string>(
  [3, fc.stringMatching(/^[\x21-\x7e]{8,60}$/).map(J)],
  [1, fc.constantFrom("short", "has space inside", "a".repeat(513), "ключ-ключ-ключ", "\u0000".repeat(8)).map(J)],
  [1, anyJson],
);
const tenantName = weighted<string>(
  [3, fc.string({ minLength: 1, maxLength: 40 }).map(J)],
  [2, hostileString.map(J)],
  [1, fc.constantFrom("a".repeat(100), "a".repeat(101), `  ${"b".repeat(100)}  `, "   ", "é".repeat(100)).map(J)],
  [1, anyJson],
);
const tenantBody = fc
  .record({ name: present(tenantName, anyJson), rendley_api_key: optional(rendleyKey) })
  .map(({ name, rendley_api_key }) =>
    objectText([
      ["name", name],
      ["rendley_api_key", rendley_api_key],
    ]),
  );
const rendleyKeyBody = present(rendleyKey, anyJson).map((k) => objectText([["rendley_api_key", k]]));
const labelBody = weighted<string | undefined>(
  [2, fc.constant(undefined)],
  [1, fc.constant("{}")],
  [3, tenantName.map((l) => objectText([["label", l]]))],
);

/** Bodies of any shape: not JSON, truncated, scalars, BOMs, deep arrays, over the size limit, not UTF-8. */
const hostileBody: fc.Arbitrary<string | Uint8Array> = weighted<string | Uint8Array>(
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
function sizedBody(bytes: number): string {
  const head = '{"job_id":"sized","callback_url":"http://127.0.0.1:9/s","metadata":{"pad":"';
  const tail = '"}}';
  return head + "a".repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}

// --- paths, queries, headers

interface Route {
  method: string;
  template: string;
  body: "watch" | "rotate" | "recover" | "tenant" | "rendley" | "label" | "none";
  auth: "tenant" | "admin" | "none";
  query?: "list" | "cancel";
  weight: number;
}
const ROUTES: Route[] = [
  { method: "POST", template: "/v1/watches", body: "watch", auth: "tenant", weight: 32 },
  { method: "GET", template: "/v1/watches", body: "none", auth: "tenant", query: "list", weight: 10 },
  { method: "GET", template: "/v1/watches/{id}", body: "none", auth: "tenant", weight: 6 },
  { method: "DELETE", template: "/v1/watches/{id}", body: "none", auth: "tenant", query: "cancel", weight: 4 },
  { method: "POST", template: "/v1/watches/{id}/redeliver", body: "none", auth: "tenant", weight: 3 },
  { method: "GET", template: "/v1/signing-secret", body: "none", auth: "tenant", weight: 1 },
  { method: "POST", template: "/v1/signing-secret/rotate", body: "rotate", auth: "tenant", weight: 3 },
  { method: "POST", template: "/v1/deliveries/recover", body: "recover", auth: "tenant", weight: 4 },
  { method: "GET", template: "/v1/origins", body: "none", auth: "tenant", weight: 1 },
  { method: "POST", template: "/v1/admin/tenants", body: "tenant", auth: "admin", weight: 5 },
  { method: "GET", template: "/v1/admin/tenants", body: "none", auth: "admin", weight: 1 },
  { method: "GET", template: "/v1/admin/tenants/{tid}", body: "none", auth: "admin", weight: 2 },
  { method: "POST", template: "/v1/admin/tenants/{tid}/disable", body: "none", auth: "admin", weight: 1 },
  { method: "POST", template: "/v1/admin/tenants/{tid}/enable", body: "none", auth: "admin", weight: 1 },
  { method: "PUT", template: "/v1/admin/tenants/{tid}/rendley-key", body: "rendley", auth: "admin", weight: 2 },
  { method: "POST", template: "/v1/admin/tenants/{tid}/api-keys", body: "label", auth: "admin", weight: 2 },
  { method: "GET", template: "/v1/admin/tenants/{tid}/api-keys", body: "none", auth: "admin", weight: 1 },
  { method: "DELETE", template: "/v1/admin/tenants/{tid}/api-keys/{kid}", body: "none", auth: "admin", weight: 1 },
  { method: "GET", template: "/healthz", body: "none", auth: "none", weight: 1 },
  { method: "GET", template: "/readyz", body: "none", auth: "none", weight: 1 },
  { method: "GET", template: "/openapi.json", body: "none", auth: "none", weight: 1 },
  { method: "GET", template: "{junk}", body: "none", auth: "tenant", weight: 3 },
];
const JUNK_PATHS = [
  "/",
  "/v1",
  "/v1/",
  "/v1/watches/",
  "//v1//watches",
  "/V1/WATCHES",
  "/v1/watches/../admin/tenants",
  "/v1/watches/%2e%2e/admin/tenants",
  "/v1/admin",
  "/v1/adminx",
  "/v1/admin/",
  "/v2/watches",
  "/v1/watches;x=1",
  "/v1/watches%2F",
  "/%76%31/watches",
  "/healthz/",
  "/openapi.json/..",
  "/v1/watches/x/y/z",
  "/v1/signing-secret/rotate/",
  "/.env",
  "/v1/deliveries",
];
const METHODS = [
  "GET",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "HEAD",
  "FOO",
  "PURGE",
  "get",
  "patch",
  "M-SEARCH",
  "PROPFIND",
  "QUERY",
];

interface Fixtures {
  watchIds: string[];
  foreignWatchId: string;
  tenantBKey: string;
  victimTenantId: string;
  victimKeyId: string;
  cursor: string;
}

function buildArbitraries(fx: Fixtures) {
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

  const validKeyFor = (auth: Route["auth"]) => (auth === "admin" ? `Bearer ${ADMIN_KEY}` : `Bearer ${TEST_API_KEY}`);
  const hostileAuth = weighted<string[]>(
    [
      4,
      fc.constantFrom(
        [],
        [""],
        ["Bearer"],
        ["Bearer "],
        ["Basic dXNlcjpwYXNz"],
        [`bearer ${TEST_API_KEY}`],
        [`BEARER    ${TEST_API_KEY}`],
        [TEST_API_KEY],
        [`Token ${TEST_API_KEY}`],
        [`Bearer ${TEST_API_KEY} extra`],
        [`Bearer ${TEST_API_KEY}x`],
        [`Bearer\t${TEST_API_KEY}`],
        [`Bearer ${TEST_API_KEY.slice(0, -1)}`],
        [`Bearer ${ADMIN_KEY.toUpperCase()}`],
        [`Bearer ${TEST_API_KEY}`, "Bearer junk"],
        ["Bearer junk", `Bearer ${ADMIN_KEY}`],
        [`Bearer ${toByteString("clé😀")}`],
        [`Bearer ${"x".repeat(513)}`],
      ),
    ],
    [1, huge(1_000, 10_000).map((s) => [`Bearer ${s}`])],
    [1, hostileString.map((s) => [toByteString(s)])],
  );
  const authFor = (auth: Route["auth"]) =>
    weighted<string[]>(
      [auth === "none" ? 2 : 12, fc.constant([validKeyFor(auth)])],
      [1, fc.constant([`Bearer ${auth === "admin" ? TEST_API_KEY : ADMIN_KEY}`])],
      [1, fc.constant([`Bearer ${fx.tenantBKey}`])],
      [4, hostileAuth],
    );
  const contentType = weighted<string[]>(
    [12, fc.constant(["application/json"])],
    [2, fc.constant(["application/json; charset=utf-8"])],
    [
      4,
      fc.constantFrom(
        [],
        ["APPLICATION/JSON"],
        ["application/vnd.api+json"],
        ["application/merge-patch+json"],
        ["application/jsonx"],
        ["text/json"],
        ["text/plain"],
        ["multipart/form-data; boundary=x"],
        ["application/x-www-form-urlencoded"],
        ["}{"],
        ["application/json; charset=latin1"],
        ["application/json", "text/plain"],
        ["application/json;;;"],
        ["*/*"],
        [""],
        [toByteString("application/json; é")],
      ),
    ],
  );
  const idempotencyKey = weighted<string[]>(
    [6, fc.constant([])],
    [3, fc.constantFrom(["fuzz-k1"], ["fuzz-k2"], ["fuzz-k3"])],
    [2, fc.stringMatching(/^[\x21-\x7e]{1,40}$/).map((k) => [k])],
    [
      2,
      fc.constantFrom(
        [""],
        [" "],
        ["a b"],
        ["x".repeat(256)],
        ["x".repeat(10_000)],
        [toByteString("ключ")],
        ["\x01\x02"],
        ["\x7f"],
        ["k\tk"],
        ["fuzz-k1", "fuzz-k2"],
      ),
    ],
  );
  const extraHeaders = weighted<Array<[string, string]>>(
    [8, fc.constant([])],
    [
      2,
      fc
        .constantFrom<[string, string]>(
          ["x-request-id", "x".repeat(100)],
          ["x-request-id", "../../etc"],
          ["x-request-id", toByteString("é")],
          ["accept", "text/html"],
          ["accept", "*/*;q=0"],
          ["x-forwarded-for", "127.0.0.1"],
          ["x-http-method-override", "DELETE"],
          ["content-encoding", "gzip"],
          ["range", "bytes=0-1"],
          ["if-none-match", "*"],
        )
        .map((h) => [h]),
    ],
    [
      1,
      fc
        .tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), hostileString)
        .map(([n, v]) => [[n, toByteString(v)] as [string, string]]),
    ],
  );

  const bodyFor = (kind: Route["body"]): fc.Arbitrary<string | Uint8Array | undefined> => {
    const natural: fc.Arbitrary<string | Uint8Array | undefined> =
      kind === "watch"
        ? watchBody
        : kind === "rotate"
          ? rotateBody
          : kind === "recover"
            ? recoverBody
            : kind === "tenant"
              ? tenantBody
              : kind === "rendley"
                ? rendleyKeyBody
                : kind === "label"
                  ? labelBody
                  : weighted<string | Uint8Array | undefined>([4, fc.constant(undefined)], [1, watchBody]);
    return weighted<string | Uint8Array | undefined>([8, natural], [2, hostileBody]);
  };

  const routeArb = fc.oneof(...ROUTES.map((route) => ({ weight: route.weight, arbitrary: fc.constant(route) })));
  const spec: fc.Arbitrary<Spec> = routeArb.chain((route) =>
    fc
      .record({
        method: weighted<string>([8, fc.constant(route.method)], [2, fc.constantFrom(...METHODS)]),
        id: watchId,
        tid: tenantId,
        kid: keyId,
        junk: fc.constantFrom(...JUNK_PATHS),
        query: queryFor(route.query),
        auth: authFor(route.auth),
        contentType,
        idempotencyKey: route.body === "watch" ? idempotencyKey : weighted<string[]>([10, fc.constant([])], [1, idempotencyKey]),
        extra: extraHeaders,
        body: bodyFor(route.body),
        repeat: weighted<boolean>([1, fc.constant(true)], [5, fc.constant(false)]),
        // A well-formed request (right method, key, content type): only the path and body are hostile.
        clean: weighted<boolean>([2, fc.constant(true)], [3, fc.constant(false)]),
        cleanIdempotencyKey: weighted<string[]>(
          [3, fc.constant([])],
          [1, fc.constantFrom(["fuzz-k1"], ["fuzz-k2"])],
          [2, fc.stringMatching(/^[A-Za-z0-9-]{16,32}$/).map((k) => [k])],
        ),
      })
      .map((input): Spec => {
        const r = input.clean
          ? {
              ...input,
              method: route.method,
              auth: route.auth === "none" ? [] : [validKeyFor(route.auth)],
              contentType: ["application/json"],
              idempotencyKey: route.body === "watch" ? input.cleanIdempotencyKey : [],
              extra: [],
            }
          : input;
        const path =
          route.template === "{junk}"
            ? r.junk
            : route.template.replace("{id}", r.id).replace("{tid}", r.tid).replace("{kid}", r.kid) + r.query;
        const noBody = /^(GET|HEAD)$/i.test(r.method);
        const headers: Array<[string, string]> = [
          ...r.auth.map((v): [string, string] => ["authorization", v]),
          ...(r.body === undefined && r.contentType.length === 1
            ? []
            : r.contentType.map((v): [string, string] => ["content-type", v])),
          ...r.idempotencyKey.map((v): [string, string] => ["idempotency-key", v]),
          ...r.extra,
        ];
        return { method: r.method, path, headers, body: noBody ? undefined : r.body, repeat: r.repeat };
      }),
  );

  // Raw requests: the same shapes, written byte by byte.
  const rawTarget = weighted<Buffer>(
    // As a client writes it (anything but printable ASCII percent-encoded), or as raw UTF-8.
    [
      12,
      spec.map((s) =>
        Buffer.from(
          wellFormed(s.path).replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c)),
          "latin1",
        ),
      ),
    ],
    [1, spec.map((s) => Buffer.from(s.path, "utf8"))],
    [
      2,
      fc
        .constantFrom(
          "/v1/watches/\xff\xfe",
          "/v1/watches/caf\xe9",
          "/v1/watches/../admin/tenants",
          "/v1/watches/..%2f..%2fadmin%2ftenants",
          "/v1\\admin\\tenants",
          "/v1/watches?\xff=\xfe",
          "http://evil.test/v1/admin/tenants",
          "http://127.0.0.1/v1/watches",
          "*",
          "v1/watches",
          "/v1/watches\x7f",
          "/v1/watches\x01",
          "//v1/admin/tenants",
          "/v1/%",
        )
        .map((t) => Buffer.from(t, "latin1")),
    ],
    [
      1,
      fc
        .uint8Array({ minLength: 1, maxLength: 40 })
        .map((b) => Buffer.concat([Buffer.from("/v1/watches/"), Buffer.from(b.filter((x) => x > 0x20 && x !== 0x7f))])),
    ],
  );
  // Well-formed headers, repeated at will, and now and then one Node's parser must refuse (too long, bad name,
  // NUL, obs-fold, bare CR, bytes that are not ASCII).
  const rawHeaders = fc
    .tuple(
      fc.array(
        weighted<[string, Buffer]>(
          [4, fc.constant(["Authorization", Buffer.from(`Bearer ${TEST_API_KEY}`)])],
          [1, fc.constant(["Authorization", Buffer.from(`Bearer ${ADMIN_KEY}`)])],
          [1, fc.constant(["Authorization", Buffer.from("Bearer junk")])],
          [4, fc.constant(["Content-Type", Buffer.from("application/json")])],
          [1, fc.constant(["content-type", Buffer.from("text/plain")])],
          [1, fc.constant(["Idempotency-Key", Buffer.from("fuzz-raw-1")])],
          [1, fc.constant(["Idempotency-Key", Buffer.from("fuzz-raw-2")])],
          [1, fc.constant(["X-Request-Id", Buffer.from("x".repeat(100))])],
          [1, fc.constant(["Expect", Buffer.from("100-continue")])],
        ),
        { maxLength: 5 },
      ),
      weighted<Array<[string, Buffer]>>(
        [6, fc.constant([])],
        [
          1,
          fc
            .constantFrom<[string, Buffer]>(
              ["X-Long", Buffer.from("x".repeat(20_000))],
              ["Bad Header", Buffer.from("x")],
              ["X-Nul", Buffer.from("a\x00b", "latin1")],
              ["X-Folded", Buffer.from("a\r\n b")],
              ["X-Bare-CR", Buffer.from("a\rb")],
              // Bytes that are not ASCII: Node's parser refuses them in header values.
              ["authorization", Buffer.from("Bearer \xff\xfe\x80", "latin1")],
              ["Content-Type", Buffer.from("application/json; charset=\xff", "latin1")],
              ["Idempotency-Key", Buffer.from("caf\xe9", "latin1")],
              ["X-Obs-Text", Buffer.from("\x80\x81\xfe\xff", "latin1")],
            )
            .map((h) => [h]),
        ],
      ),
    )
    .map(([good, bad]) => [...good, ...bad]);
  const rawSpec: fc.Arbitrary<RawSpec> = fc.record({
    method: weighted<string>(
      [12, fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS")],
      [1, fc.constantFrom("TRACE", "get", "FOO", "G\xc9T", "GET /x", "")],
    ),
    target: rawTarget,
    host: weighted<RawSpec["host"]>([10, fc.constant("normal")], [1, fc.constantFrom("missing", "twice", "weird")]),
    headers: rawHeaders,
    body: weighted<Buffer>(
      [3, fc.constant(Buffer.alloc(0))],
      [4, watchBody.map((b) => Buffer.from(b, "utf8"))],
      [2, hostileBody.map((b) => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b)))],
      [1, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))],
    ),
    framing: weighted<RawSpec["framing"]>(
      [14, fc.constant("length")],
      [3, fc.constant("chunked")],
      [1, fc.constantFrom("length-twice-same", "length-twice-different", "length-and-chunked")],
    ),
  });

  return { spec, rawSpec };
}

// ---------------------------------------------------------------------------------------------------------
// Sending.

function toRequest(spec: Spec): Request | undefined {
  try {
    const headers = new Headers();
    for (const [name, value] of spec.headers) headers.append(name, value);
    return new Request(BASE + spec.path, { method: spec.method, headers, body: spec.body ?? null });
  } catch {
    return undefined; // not a request any client could send (forbidden method, bad header value)
  }
}

async function answerOf(res: Response): Promise<Answer> {
  return {
    status: res.status,
    body: await res.text(),
    contentType: res.headers.get("content-type"),
    fromServer: true,
  };
}

function rawBytes(spec: RawSpec, port: number): Buffer {
  const lines: Buffer[] = [Buffer.from(`${spec.method} `, "latin1"), spec.target, Buffer.from(" HTTP/1.1\r\n")];
  const header = (name: string, value: Buffer | string) =>
    lines.push(
      Buffer.from(`${name}: `, "latin1"),
      typeof value === "string" ? Buffer.from(value, "latin1") : value,
      Buffer.from("\r\n"),
    );
  if (spec.host === "normal" || spec.host === "twice") header("Host", `127.0.0.1:${port}`);
  if (spec.host === "twice") header("Host", "evil.test");
  if (spec.host === "weird") header("Host", "evil host:port");
  for (const [name, value] of spec.headers) header(name, value);
  header("Connection", "close");
  let body = spec.body;
  if (spec.framing === "chunked" || spec.framing === "length-and-chunked") {
    header("Transfer-Encoding", "chunked");
    if (spec.framing === "length-and-chunked") header("Content-Length", String(body.length));
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 1000) {
      const part = body.subarray(i, i + 1000);
      chunks.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"));
    }
    chunks.push(Buffer.from("0\r\n\r\n"));
    body = Buffer.concat(chunks);
  } else {
    header("Content-Length", String(body.length));
    if (spec.framing === "length-twice-same") header("Content-Length", String(body.length));
    if (spec.framing === "length-twice-different") header("Content-Length", String(body.length + 1));
  }
  lines.push(Buffer.from("\r\n"), body);
  return Buffer.concat(lines);
}

/** Malformed requests @hono/node-server answers with a bare 400 of its own (see buildUrl / newRequest). */
function adapterRefuses(spec: RawSpec): boolean {
  const target = spec.target.toString("latin1");
  return (
    spec.host === "missing" || spec.host === "weird" || !/^(\/|https?:\/\/)/.test(target) || target.split("?")[0]!.includes("\\")
  );
}

/** Writes the bytes on a fresh connection and reads the first answer (Connection: close ends it). */
function sendRaw(port: number, bytes: Buffer): Promise<Answer | "no answer"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseRawAnswer(Buffer.concat(chunks)));
    });
    socket.write(bytes, () => {});
  });
}

function parseRawAnswer(data: Buffer): Answer | "no answer" {
  // Interim answers (100 Continue) come first: the answer is the first final one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(data.subarray(0, 13).toString("latin1")) && data.indexOf("\r\n\r\n") !== -1) {
    data = data.subarray(data.indexOf("\r\n\r\n") + 4);
  }
  const end = data.indexOf("\r\n\r\n");
  if (end === -1) return "no answer";
  const head = data.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1]);
  if (!Number.isFinite(status)) return "no answer";
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = data.subarray(end + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    const parts: Buffer[] = [];
    let rest = body;
    for (;;) {
      const eol = rest.indexOf("\r\n");
      const size = eol === -1 ? 0 : parseInt(rest.subarray(0, eol).toString("latin1"), 16);
      if (!size) break;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  } else if (headers.has("content-length")) body = body.subarray(0, Number(headers.get("content-length")));
  return {
    status,
    body: body.toString("utf8"),
    contentType: headers.get("content-type") ?? null,
    fromServer: headers.has("date"),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The properties every answer must satisfy.

const ERROR_CODE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const LEAKS = [
  /\n\s+at /,
  /\\n\s+at /,
  /\.ts:/,
  /node_modules/,
  /node:internal/,
  new RegExp(process.cwd().replace(/[/.]/g, "\\$&")),
];

function envelopeProblem(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return "the body is not JSON";
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (!error || typeof error !== "object") return "no `error` object";
  if (typeof error.code !== "string" || !ERROR_CODE.test(error.code)) return `error.code ${J(error.code)} is not snake_case`;
  if (typeof error.message !== "string") return "error.message is not a string";
  if (error.details !== undefined) {
    const ok =
      Array.isArray(error.details) &&
      error.details.every(
        (d: unknown) =>
          typeof (d as { path?: unknown })?.path === "string" && typeof (d as { message?: unknown })?.message === "string",
      );
    if (!ok) return "error.details is not [{path, message}]";
  }
  return undefined;
}

interface Context {
  world: TestWorld;
  validKeys: Set<string>;
  foreignWatchId: string;
  tenantBKey: string;
  ledger: Map<string, { fingerprint: string; watchId: string }>;
}

/** What was sent, reduced to what the checks need (one shape for the three channels). */
interface Sent {
  channel: "inProcess" | "fetch" | "raw";
  method: string;
  path: string;
  headers: Array<[string, string]>;
  bodyText: string | undefined;
  bodyBytes: number;
  logFrom: number;
  /** Raw requests that @hono/node-server refuses before the app runs (bare 400). */
  adapterMayRefuse?: boolean;
}

function describeSent(sent: Sent, answer: Answer): string {
  const cut = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
  return J({
    channel: sent.channel,
    method: sent.method,
    path: cut(sent.path),
    headers: sent.headers.map(([k, v]) => [k, cut(v, 80)]),
    body: sent.bodyText === undefined ? undefined : cut(sent.bodyText),
    status: answer.status,
    answer: cut(answer.body),
  });
}

function knownBugFor(ctx: Context, sent: Sent): string | undefined {
  const causes = ctx.world.logs
    .slice(sent.logFrom)
    .filter((line) => line.includes('"unhandled error"'))
    .map((line) => {
      try {
        const parsed = JSON.parse(line) as { err?: { cause?: string; message?: string } };
        return `${parsed.err?.cause ?? ""} ${parsed.err?.message ?? ""}`;
      } catch {
        return line;
      }
    });
  if (causes.length === 0) return undefined;
  const features = featuresOf(sent.path, sent.bodyText);
  return KNOWN_BUGS.find((bug) => bug.trigger(features) && causes.every((cause) => bug.cause.test(cause)))?.id;
}

function check(ctx: Context, sent: Sent, answer: Answer): void {
  const fail = (problem: string) => {
    throw new Error(`${problem}: ${describeSent(sent, answer)}`);
  };
  stats.sent[sent.channel]++;
  count(stats.byStatus, String(answer.status));
  count(stats.byClass, `${String(answer.status)[0]}xx`);

  if (!answer.fromServer) {
    // Node's HTTP parser refused the bytes before the app ran: the relay's clientError handler still answers
    // with the envelope (or the socket is simply closed, for a reset).
    stats.rejectedByNodeParser++;
    if (answer.status >= 500) fail("a parser refusal answered 5xx");
    const problem = answer.body === "" ? undefined : envelopeProblem(answer.body);
    if (problem) fail(`a parser refusal without the error envelope (${problem})`);
    return;
  }
  if (answer.status >= 500) {
    stats.fiveXx++;
    const bug = knownBugFor(ctx, sent);
    if (!bug) fail(`answered ${answer.status}`);
    count(stats.knownBug5xx, bug!);
  }
  const requestText = [sent.path, ...sent.headers.map(([, v]) => v), sent.bodyText ?? ""].join("\n");
  for (const leak of LEAKS) if (leak.test(answer.body) && !leak.test(requestText)) fail(`the answer leaks internals (${leak})`);

  const head = sent.method.toUpperCase() === "HEAD";
  const is2xx = answer.status >= 200 && answer.status < 300;
  if (!is2xx && !head) {
    if (sent.adapterMayRefuse && answer.status === 400 && answer.body === "") {
      // @hono/node-server's own refusal of a malformed request (no or a bad Host header, a backslash in the
      // path, a target that is neither a path nor an absolute URL): the app never saw it.
      stats.rejectedByAdapter++;
      return;
    }
    const problem = envelopeProblem(answer.body);
    if (problem) fail(`a ${answer.status} without the error envelope (${problem})`);
    count(stats.errorCodes, (JSON.parse(answer.body) as { error: { code: string } }).error.code);
    if (!/^application\/json/.test(answer.contentType ?? "")) fail(`a ${answer.status} answered as ${answer.contentType}`);
  }
  if (!is2xx || head) return;

  // Only a valid key gets data from /v1; only the admin key gets admin data; no tenant sees another's watch.
  const auth = sent.headers.filter(([k]) => k.toLowerCase() === "authorization").map(([, v]) => v);
  const carries = (keys: Iterable<string>) => [...keys].some((key) => auth.some((v) => v.includes(key)));
  let parsed: { data?: unknown; openapi?: unknown } | undefined;
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    fail("a 2xx whose body is not JSON");
  }
  const data = parsed?.data as Record<string, unknown> | undefined;
  const isPublic =
    parsed?.openapi !== undefined || (data?.status === "ok" && Object.keys(data).length === 1) || data?.checks !== undefined;
  if (!isPublic && !carries(ctx.validKeys)) fail("a 2xx without a valid key");
  const items: unknown[] = Array.isArray(data) ? data : [data, data?.tenant, data?.api_key];
  const adminShaped = items.some(
    (i) => i && typeof i === "object" && ("rendley_key_set" in i || ("source" in i && "prefix" in i)),
  );
  if (adminShaped && !carries([ADMIN_KEY])) fail("admin data without the admin key");
  if (answer.body.includes(ctx.foreignWatchId) && !carries([ctx.tenantBKey])) fail("another tenant's watch");
  const newKey = (data?.api_key as { key?: unknown } | undefined)?.key ?? data?.key;
  if (typeof newKey === "string") ctx.validKeys.add(newKey);
}

/** Idempotency: the same key with the same request never makes a second watch, and answers 200 with the first one. */
function checkIdempotency(ctx: Context, spec: Spec, answer: Answer): void {
  if (spec.method !== "POST" || new URL(BASE + spec.path).pathname !== "/v1/watches" || answer.status >= 300) return;
  const auth = spec.headers.filter(([k]) => k === "authorization").map(([, v]) => v);
  const keys = spec.headers.filter(([k]) => k === "idempotency-key").map(([, v]) => v);
  const id = (JSON.parse(answer.body) as { data: { id: string } }).data.id;
  if (answer.status === 201) stats.watchesCreated++;
  if (auth.length !== 1 || keys.length !== 1) return;
  const slot = `${auth[0]}|${keys[0]}`;
  const fingerprint = J([
    spec.headers,
    typeof spec.body === "string" ? spec.body : Buffer.from(spec.body ?? []).toString("base64"),
  ]);
  const first = ctx.ledger.get(slot);
  if (!first) {
    if (answer.status === 201) ctx.ledger.set(slot, { fingerprint, watchId: id });
    return;
  }
  const problem =
    answer.status === 201
      ? "a second watch for one Idempotency-Key"
      : id !== first.watchId
        ? "an idempotent repeat answered with another watch"
        : undefined;
  if (problem) throw new Error(`${problem}: ${J({ slot, first: first.watchId, now: id })}`);
  if (first.fingerprint === fingerprint) stats.idempotentRepeats++;
}

// ---------------------------------------------------------------------------------------------------------

describe("fuzzing the API with random and hostile requests", () => {
  let world: TestWorld;
  let app: ReturnType<typeof createApp>;
  let ctx: Context;
  let fixtures: Fixtures;
  let arbitraries: ReturnType<typeof buildArbitraries>;
  let attemptsBefore = 0;
  const started = performance.now();

  const scalar = async (query: ReturnType<typeof sql>) => {
    const [row] = await world.relay.deps.db.rows<{ n: number }>(query);
    return Number(row?.n ?? 0);
  };
  const call = async (path: string, init: { method?: string; key?: string; json?: unknown } = {}) => {
    const res = await app.request(BASE + path, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${init.key ?? TEST_API_KEY}`,
        ...(init.json === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.json === undefined ? {} : { body: typeof init.json === "string" ? init.json : J(init.json) }),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: res.status, body };
  };

  beforeAll(async () => {
    console.log(J({ fuzzSeed: SEED, replay: `FUZZ_SEED=${SEED} npx vitest run test/e2e/fuzz.test.ts` }));
    world = await startWorld({
      env: { RELAY_ADMIN_KEY: ADMIN_KEY, RELAY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("base64") },
      relay: { resolver: registrationResolver },
    });
    // Nothing registered here may ever be polled or called back.
    await world.relay.delivery.stop(0);
    await world.relay.scheduler.stop(0);
    app = createApp(world.relay.deps);
    attemptsBefore = await scalar(sql`select count(*)::int as n from delivery_attempts`);

    const tenantB = await call("/v1/admin/tenants", { method: "POST", key: ADMIN_KEY, json: { name: "fuzz tenant B" } });
    const victim = await call("/v1/admin/tenants", { method: "POST", key: ADMIN_KEY, json: { name: "fuzz admin target" } });
    expect([tenantB.status, victim.status]).toEqual([201, 201]);
    const tenantBKey = tenantB.body.data.api_key.key as string;
    const foreign = await call("/v1/watches", {
      method: "POST",
      key: tenantBKey,
      json: { job_id: "b-job", callback_url: "http://127.0.0.1:9/b" },
    });
    const own = [];
    for (const job of ["fx-1", "fx-2", "fx-3"]) {
      own.push(await call("/v1/watches", { method: "POST", json: { job_id: job, callback_url: "http://127.0.0.1:9/hook" } }));
    }
    const page = await call("/v1/watches?limit=1");
    expect([foreign.status, ...own.map((o) => o.status), page.status]).toEqual([201, 201, 201, 201, 200]);
    fixtures = {
      watchIds: own.map((o) => o.body.data.id as string),
      foreignWatchId: foreign.body.data.id,
      tenantBKey,
      victimTenantId: victim.body.data.tenant.id,
      victimKeyId: victim.body.data.api_key.id,
      cursor: page.body.next_cursor,
    };
    ctx = {
      world,
      validKeys: new Set([TEST_API_KEY, ADMIN_KEY, tenantBKey, victim.body.data.api_key.key]),
      foreignWatchId: fixtures.foreignWatchId,
      tenantBKey,
      ledger: new Map(),
    };
    arbitraries = buildArbitraries(fixtures);
  });

  afterAll(async () => {
    if (world) {
      stats.watchesStored = await scalar(sql`select count(*)::int as n from watches`);
      stats.tenantsStored = await scalar(sql`select count(*)::int as n from tenants`);
      stats.ms = Math.round(performance.now() - started);
      console.log(J({ fuzzTotals: stats }));
      await world.close();
    }
  });

  it(`sends ${IN_PROCESS_RUNS} requests in-process: no 5xx, envelopes, keys, idempotency`, { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(arbitraries.spec, async (spec) => {
        for (let round = 0; round < (spec.repeat ? 2 : 1); round++) {
          const request = toRequest(spec);
          if (!request) {
            stats.unsendable++;
            return;
          }
          const sent: Sent = {
            channel: "inProcess",
            method: request.method,
            path: spec.path,
            headers: spec.headers,
            bodyText: textOf(spec.body),
            bodyBytes: bytesOf(spec.body),
            logFrom: world.logs.length,
          };
          const answer = await answerOf(await app.request(request));
          check(ctx, sent, answer);
          checkSizeLimit(spec, request, answer);
          checkIdempotency(ctx, spec, answer);
        }
      }),
      { numRuns: IN_PROCESS_RUNS, seed: SEED },
    );
    expect(stats.sent.inProcess).toBeGreaterThanOrEqual(Math.min(3_000, IN_PROCESS_RUNS * 0.9));
  });

  it(
    `sends ${FETCH_RUNS} requests over HTTP with fetch and ${RAW_RUNS} as raw bytes on a socket`,
    { timeout: 120_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(arbitraries.spec, async (spec) => {
          const url = world.relay.url + spec.path;
          let request: Request;
          try {
            request = new Request(url, { method: spec.method, headers: spec.headers, body: spec.body ?? null });
          } catch {
            stats.unsendable++;
            return;
          }
          const sent: Sent = {
            channel: "fetch",
            method: request.method,
            path: spec.path,
            headers: spec.headers,
            bodyText: textOf(spec.body),
            bodyBytes: bytesOf(spec.body),
            logFrom: world.logs.length,
          };
          let res: Response;
          try {
            res = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(15_000) });
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            if (cause?.code === "UND_ERR_INVALID_ARG") {
              stats.unsendable++; // undici refuses to send it (a control character in a header value)
              return;
            }
            throw new Error(`no answer over HTTP (${cause?.code} ${cause?.message}): ${spec.method} ${spec.path.slice(0, 200)}`);
          }
          const answer = await answerOf(res);
          answer.fromServer = res.headers.has("date");
          check(ctx, sent, answer);
          if (answer.fromServer) checkSizeLimit(spec, request, answer);
        }),
        { numRuns: FETCH_RUNS, seed: SEED + 1 },
      );
      await fc.assert(
        fc.asyncProperty(arbitraries.rawSpec, async (spec) => {
          const bytes = rawBytes(spec, world.relay.port);
          const sent: Sent = {
            channel: "raw",
            method: spec.method,
            path: spec.target.toString("latin1"),
            headers: [
              ...(spec.host === "missing" ? [] : [["host", spec.host] as [string, string]]),
              ...spec.headers.map(([k, v]): [string, string] => [k.toLowerCase(), v.toString("latin1")]),
            ],
            bodyText: spec.body.toString("utf8"),
            bodyBytes: spec.body.length,
            logFrom: world.logs.length,
            adapterMayRefuse: adapterRefuses(spec),
          };
          const answer = await sendRaw(world.relay.port, bytes);
          if (answer === "no answer")
            throw new Error(`the relay closed the connection without answering: ${bytes.toString("latin1").slice(0, 400)}`);
          check(ctx, sent, answer);
        }),
        { numRuns: RAW_RUNS, seed: SEED + 2 },
      );
      expect(stats.sent.fetch + stats.sent.raw).toBeGreaterThanOrEqual(Math.min(300, (FETCH_RUNS + RAW_RUNS) * 0.8));
    },
  );

  /** Bodies over 64 KiB to /v1 are refused with 413 before anything else; bodies within it never are. */
  function checkSizeLimit(spec: Spec, request: Request, answer: Answer): void {
    if (spec.body === undefined || !new URL(request.url).pathname.startsWith("/v1/")) return;
    const bytes = bytesOf(spec.body);
    if (bytes > MAX_BODY_BYTES !== (answer.status === 413)) {
      throw new Error(`a ${bytes}-byte body answered ${answer.status}: ${spec.method} ${spec.path.slice(0, 200)}`);
    }
  }

  it("made no delivery attempt: nothing fuzzed was ever called back", async () => {
    expect(await scalar(sql`select count(*)::int as n from delivery_attempts`)).toBe(attemptsBefore);
    expect(await scalar(sql`select count(*)::int as n from deliveries`)).toBe(0);
  });

  it("stored nothing invalid: every row satisfies the API's own rules", { timeout: 60_000 }, async () => {
    const db = world.relay.deps.db;
    const problems: string[] = [];
    const knownBugRows: string[] = [];
    const allowlist = world.relay.deps.config.callbackAllowlist;

    const watches = await db.rows<{
      id: string;
      job_id: string;
      callback_url: string;
      events: string[];
      metadata: unknown;
      retry_schedule_ms: number[] | null;
      callback_headers: unknown;
      idempotency_key: string | null;
      request_hash: string | null;
    }>(
      sql`select id, job_id, callback_url, events, metadata, retry_schedule_ms, callback_headers, idempotency_key, request_hash from watches`,
    );
    for (const w of watches) {
      const bad = (what: string) => problems.push(`watch ${w.id}: ${what}`);
      if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(w.job_id)) bad(`job_id ${J(w.job_id.slice(0, 200))}`);
      if (
        !Array.isArray(w.events) ||
        w.events.length === 0 ||
        w.events.some((e) => !(JOB_EVENTS as readonly string[]).includes(e))
      )
        bad(`events ${J(w.events)}`);
      if (new Set(w.events).size !== w.events.length) bad(`repeated events ${J(w.events)}`);
      const metadata = typeof w.metadata === "string" ? (JSON.parse(w.metadata) as unknown) : w.metadata;
      if (metadata !== null) {
        if (typeof metadata !== "object" || Array.isArray(metadata))
          bad(`metadata is not an object: ${J(metadata)?.slice(0, 100)}`);
        else if (Buffer.byteLength(J(metadata)) > 4096) bad(`metadata of ${Buffer.byteLength(J(metadata))} bytes`);
        else if (nestingOf(metadata) > 32) bad(`metadata ${nestingOf(metadata)} levels deep`);
      }
      const schedule = w.retry_schedule_ms;
      if (schedule !== null) {
        if (
          schedule.length > 20 ||
          schedule.some((ms) => !Number.isInteger(ms) || ms < 0) ||
          schedule.reduce((a, b) => a + b, 0) > 7 * 86_400_000
        )
          bad(`retry_schedule_ms ${J(schedule)}`);
      }
      const headers = (typeof w.callback_headers === "string" ? JSON.parse(w.callback_headers) : w.callback_headers) as Record<
        string,
        unknown
      > | null;
      if (headers !== null) {
        const entries = Object.entries(headers);
        const names = entries.map(([n]) => n.toLowerCase());
        if (entries.length > 5 || new Set(names).size !== names.length) bad(`callback_headers ${J(Object.keys(headers))}`);
        for (const [name, value] of entries) {
          if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(name)) bad(`callback header name ${J(name)}`);
          if (
            /^(content-type|content-length|user-agent|host|connection|keep-alive|transfer-encoding|te|trailer|upgrade|expect|proxy-.*|webhook-.*)$/i.test(
              name,
            )
          )
            bad(`reserved callback header ${J(name)}`);
          if (typeof value !== "string" || !/^[\t\x20-\x7e]{0,1024}$/.test(value)) bad(`callback header value for ${J(name)}`);
        }
      }
      if (w.idempotency_key !== null && !/^[\x21-\x7e]{1,255}$/.test(w.idempotency_key))
        bad(`idempotency_key ${J(w.idempotency_key.slice(0, 100))}`);
      if (w.request_hash !== null && !/^[0-9a-f]{64}$/.test(w.request_hash)) bad("request_hash");

      // The callback URL, re-checked with a resolver that refuses every name.
      const url = w.callback_url;
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        bad(`callback_url does not parse: ${J(url.slice(0, 200))}`);
        continue;
      }
      if (!["http:", "https:"].includes(parsed.protocol)) bad(`callback_url scheme ${parsed.protocol}`);
      if (parsed.username !== "" || parsed.password !== "") bad("callback_url with credentials");
      if (parsed.href !== url) bad(`callback_url not normalised: ${J(url.slice(0, 200))}`);
      if (url.length > 2048) bad(`callback_url of ${url.length} characters`);
      // checkCallbackUrl refuses anything over 2048 characters: judge the host on a short URL with the same origin.
      const recheck = await checkCallbackUrl(url.length > 2048 ? `${parsed.origin}/` : url, { allowlist, resolver: refuseAll });
      if (recheck.ok) continue;
      const host = parseHost(parsed.hostname);
      const answer = host.kind === "name" ? dnsLog.get(host.name) : undefined;
      const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port);
      if (recheck.code === "callback_url_unresolvable" && answer?.kind === "transient") {
        count(stats.acceptedOnRegistrationDns, "dns failed transiently at registration (accepted by design)");
      } else if (
        recheck.code === "callback_url_unresolvable" &&
        answer?.kind === "addresses" &&
        answer.addresses.length > 0 &&
        answer.addresses.every((a) => !isBlockedAddress(a) || allowlist.allowsAddress(a, port))
      ) {
        count(stats.acceptedOnRegistrationDns, `dns answered ${answer.addresses.join(" ")}`);
      } else {
        bad(
          `callback_url fails the registration check (${recheck.code}: ${recheck.message}); registration DNS said ${J(answer)}`,
        );
      }
    }

    const tenants = await db.rows<{ id: string; name: string; status: string }>(sql`select id, name, status from tenants`);
    for (const t of tenants) {
      if (t.name.trim() === "" || t.name.length > 100 || t.name !== t.name.trim())
        problems.push(`tenant ${t.id}: name ${J(t.name.slice(0, 120))}`);
      if (!["active", "disabled"].includes(t.status)) problems.push(`tenant ${t.id}: status ${t.status}`);
    }
    const keys = await db.rows<{ id: string; key_hash: string; label: string | null; source: string }>(
      sql`select id, key_hash, label, source from api_keys`,
    );
    for (const k of keys) {
      if (!/^[0-9a-f]{64}$/.test(k.key_hash)) problems.push(`api key ${k.id}: key_hash is not a SHA-256 hex digest`);
      if (k.label !== null && (k.label.trim() === "" || k.label.length > 100))
        problems.push(`api key ${k.id}: label ${J(k.label.slice(0, 120))}`);
      if (!["env", "generated", "admin"].includes(k.source)) problems.push(`api key ${k.id}: source ${k.source}`);
    }
    const secrets = await db.rows<{ id: string; secret: string }>(sql`select id, secret from signing_secrets`);
    for (const s of secrets)
      if (!/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(s.secret)) problems.push(`signing secret ${s.id}: not a whsec_ secret`);
    const polls = await db.rows<{ id: string; job_id: string }>(sql`select id, job_id from polls`);
    for (const p of polls)
      if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(p.job_id)) problems.push(`poll ${p.id}: job_id ${J(p.job_id.slice(0, 200))}`);

    console.log(
      J({
        storedRows: { watches: watches.length, tenants: tenants.length, apiKeys: keys.length, signingSecrets: secrets.length },
        acceptedOnRegistrationDns: stats.acceptedOnRegistrationDns,
        knownBugRows: knownBugRows.length,
      }),
    );
    expect(problems).toEqual([]);
    expect(watches.length).toBeGreaterThan(fixtures.watchIds.length + 1);
  });

  // ---------------------------------------------------------------------------------------------------------
  // Bugs the fuzzing found: each test states the correct behaviour and fails until the bug is fixed.

  const refusals = async (cases: Array<[string, string, { method?: string; key?: string; json?: unknown }]>) => {
    const answers: Array<[string, number, string | undefined]> = [];
    for (const [label, path, init] of cases) {
      const res = await call(path, init);
      answers.push([label, res.status, res.body?.error?.code]);
    }
    return answers;
  };
  const serverErrors = (answers: Array<[string, number, string | undefined]>) => answers.filter(([, status]) => status >= 500);

  it("refuses metadata holding U+0000 or a lone surrogate with a 400 (Postgres jsonb refuses both)", async () => {
    const body = (metadata: string) => `{"job_id":"bug-jsonb","callback_url":"http://127.0.0.1:9/hook","metadata":${metadata}}`;
    const answers = await refusals([
      ["U+0000 in a value", "/v1/watches", { method: "POST", json: body('{"note":"a\\u0000b"}') }],
      ["U+0000 in a key", "/v1/watches", { method: "POST", json: body('{"\\u0000":1}') }],
      ["a lone surrogate", "/v1/watches", { method: "POST", json: body('{"note":"\\ud800"}') }],
    ]);
    expect(serverErrors(answers), J(answers)).toEqual([]);
  });

  it("refuses U+0000 in a path id, a cursor id, a tenant name or a key label with a 4xx", async () => {
    const nulCursor = Buffer.from(J(["2020-01-01T00:00:00Z", "wch_\u0000"])).toString("base64url");
    const answers = await refusals([
      ["GET watch", "/v1/watches/%00", {}],
      ["DELETE watch", "/v1/watches/wch_%00", { method: "DELETE" }],
      ["redeliver", "/v1/watches/%00/redeliver", { method: "POST" }],
      ["cursor", `/v1/watches?cursor=${nulCursor}`, {}],
      ["GET tenant", "/v1/admin/tenants/ten_%00", { key: ADMIN_KEY }],
      ["revoke key", `/v1/admin/tenants/${fixtures.victimTenantId}/api-keys/key_%00`, { method: "DELETE", key: ADMIN_KEY }],
      ["tenant name", "/v1/admin/tenants", { method: "POST", key: ADMIN_KEY, json: { name: "a\u0000b" } }],
      [
        "key label",
        `/v1/admin/tenants/${fixtures.victimTenantId}/api-keys`,
        { method: "POST", key: ADMIN_KEY, json: { label: "a\u0000b" } },
      ],
    ]);
    expect(serverErrors(answers), J(answers)).toEqual([]);
  });

  it("refuses a cursor or recover window outside the years 1-9999 with a 400", async () => {
    const cursor = (at: string) => Buffer.from(J([at, "wch_x"])).toString("base64url");
    const answers = await refusals([
      ["cursor at year 0", `/v1/watches?cursor=${cursor("0000-01-01T00:00:00Z")}`, {}],
      ["cursor at +275760", `/v1/watches?cursor=${cursor("+275760-09-13T00:00:00.000Z")}`, {}],
      ["cursor before year 0", `/v1/watches?cursor=${cursor("-000001-01-01T00:00:00Z")}`, {}],
      ["recover since year 0", "/v1/deliveries/recover", { method: "POST", json: { since: "0000-01-01T00:00:00Z" } }],
      [
        "recover until year 10000 (an offset past 9999-12-31)",
        "/v1/deliveries/recover",
        { method: "POST", json: { since: "2020-01-01T00:00:00Z", until: "9999-12-31T23:59:59-23:59" } },
      ],
    ]);
    expect(serverErrors(answers), J(answers)).toEqual([]);
  });

  it("measures the 2048-character callback_url limit on the percent-encoded URL it stores", async () => {
    const submitted = `http://127.0.0.1:9/${"é".repeat(1_000)}`; // 1,019 characters
    const res = await call("/v1/watches", { method: "POST", json: { job_id: "bug-url-length", callback_url: submitted } });
    const [row] = await world.relay.deps.db.rows<{ n: number }>(
      sql`select max(length(callback_url))::int as n from watches where job_id = 'bug-url-length'`,
    );
    // Either refuse it (the limit applies to the URL the relay will call) or store at most 2048 characters.
    expect({ status: res.status, stored: row?.n ?? 0 }).toSatisfy(
      (r: { status: number; stored: number }) => r.status === 400 || r.stored <= 2048,
    );
  });

  it("answers a body over 64 KiB with a 413 over HTTP, not a dropped connection", async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const method = ["PUT", "POST", "PATCH", "DELETE"][i % 4]!;
      try {
        const res = await fetch(`${world.relay.url}/v1/watches`, {
          method,
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          body: sizedBody(1 << 20),
        });
        await res.text();
        outcomes.push(`${method} ${res.status}`);
      } catch (err) {
        outcomes.push(`${method} no answer (${(err as { cause?: Error }).cause?.message})`);
      }
    }
    // README: "Bodies over 64 KiB → 413 payload_too_large".
    expect(outcomes.filter((o) => !o.endsWith(" 413"))).toEqual([]);
  });

  it("never logs callback_headers values, even when a request fails", async () => {
    const canary = `hook-token-canary-${SEED}`;
    const logFrom = world.logs.length;
    const res = await call("/v1/watches", {
      method: "POST",
      json: `{"job_id":"bug-leak","callback_url":"http://127.0.0.1:9/hook","metadata":{"a":"\\u0000"},"callback_headers":{"X-Hook-Token":"${canary}"}}`,
    });
    const leaked = world.logs.slice(logFrom).filter((line) => line.includes(canary));
    // README: callback header values are "stored, never returned nor logged".
    expect({ status: res.status, leakedLines: leaked.length }).toEqual({ status: expect.any(Number), leakedLines: 0 });
  });
});

const textOf = (body: string | Uint8Array | undefined) =>
  body === undefined ? undefined : typeof body === "string" ? body : Buffer.from(body).toString("utf8");
const bytesOf = (body: string | Uint8Array | undefined) =>
  body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;

/** Depth of a JSON value, iteratively. */
function nestingOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    max = Math.max(max, depth);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}
