/** Raw requests: the same shapes as Spec, written byte by byte (bad targets, duplicate headers, bad framing). */
import fc from "fast-check";
import { TEST_API_KEY } from "../relay-harness.js";
import { ADMIN_KEY } from "./constants.js";
import { hostileBody } from "./hostile-bodies.js";
import { weighted, wellFormed } from "./hostile-text.js";
import type { Spec } from "./requests.js";
import { watchBody } from "./watch-bodies.js";

/** One fuzzed request as raw bytes over a socket (duplicate headers, bytes that are not UTF-8, parser abuse). */
export interface RawSpec {
  method: string;
  target: Buffer;
  host: "normal" | "missing" | "twice" | "weird";
  headers: Array<[string, Buffer]>;
  body: Buffer;
  framing: "length" | "chunked" | "length-twice-same" | "length-twice-different" | "length-and-chunked";
}

/** Raw requests built from `spec` (the request generator) and byte-level abuse of their own. */
export function rawSpecArbitrary(spec: fc.Arbitrary<Spec>): fc.Arbitrary<RawSpec> {
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

  return rawSpec;
}

export function rawBytes(spec: RawSpec, port: number): Buffer {
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
export function adapterRefuses(spec: RawSpec): boolean {
  const target = spec.target.toString("latin1");
  return (
    spec.host === "missing" || spec.host === "weird" || !/^(\/|https?:\/\/)/.test(target) || target.split("?")[0]!.includes("\\")
  );
}
