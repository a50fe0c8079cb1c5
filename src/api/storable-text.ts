import type { MiddlewareHandler } from "hono";
import { ValidationError } from "../errors.js";

/**
 * Postgres text cannot hold U+0000 and jsonb refuses lone UTF-16 surrogates: such input would fail deep in
 * a query (a 500). This refuses it up front, wherever it is: path, query string, or any key or string of a
 * JSON body.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && !LONE_SURROGATE.test(value);
}

/** Walks a parsed JSON value without recursion (bodies can nest thousands deep). */
function jsonIsStorable(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!isStorableText(v)) return false;
    } else if (v !== null && typeof v === "object") {
      for (const [key, child] of Object.entries(v)) {
        if (!Array.isArray(v) && !isStorableText(key)) return false;
        stack.push(child);
      }
    }
  }
  return true;
}

const refusal = (where: string) =>
  new ValidationError(`${where}: text may not contain U+0000 or unpaired UTF-16 surrogates`, [
    { path: where, message: "contains U+0000 or an unpaired surrogate" },
  ]);

export const rejectUnstorableText: MiddlewareHandler = async (c, next) => {
  let path: string;
  try {
    path = decodeURIComponent(c.req.path);
  } catch {
    path = c.req.path; // not percent-decodable: the router treats it as literal text
  }
  if (!isStorableText(path)) throw refusal("path");
  for (const values of Object.values(c.req.queries())) {
    if (!values.every(isStorableText)) throw refusal("query");
  }
  if (/^application\/([\w.-]+\+)?json/i.test(c.req.header("content-type") ?? "")) {
    const text = await c.req.text(); // cached: the validator parses the same text later
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined; // malformed JSON is the validator's to refuse
    }
    if (!jsonIsStorable(parsed)) throw refusal("body");
  }
  await next();
};

/** Postgres timestamps are written as ISO strings: years outside 1–9999 would not parse there. */
export function isStorableDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= 1 && year <= 9999;
}
