/** Callback URLs: hosts (IPv4 in every spelling, IPv6, names in the resolver double's zones, junk), paths, URLs. */
import fc from "fast-check";
import { DNS_ZONES } from "./dns-zones.js";
import { weighted } from "./hostile-text.js";

export const INTERESTING_V4 = [
  0x7f000001, 0x7f000002, 0x0a000001, 0xa9fea9fe, 0, 0x64400001, 0xc0a80101, 0xac100001, 0xe0000001, 0xffffffff, 0x08080808,
  0x01010101, 0xc0000201, 0x7f7f7f7f, 0x5db8d70e,
];

/** One IPv4 address in one of the many spellings URL parsers and inet_aton accept (and a few they do not). */
export function spellIpv4(n: number, style: number): string {
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

export const hostArb: fc.Arbitrary<string> = weighted<string>(
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

export const urlPath: fc.Arbitrary<string> = weighted<string>(
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

export const callbackUrl: fc.Arbitrary<string> = fc
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
