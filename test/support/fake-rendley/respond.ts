import type { ServerResponse } from "node:http";
import type { ScriptedResponse } from "./types.js";

const DEFAULT_ERROR_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  402: "payment_required",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  429: "rate_limited",
};

/** Writes a scripted answer (after its delay, if any: the timer is kept in `timers` so close() can drop it). */
export function send(timers: Set<NodeJS.Timeout>, res: ServerResponse, response: ScriptedResponse): void {
  const write = (): void => {
    if (res.destroyed || res.writableEnded) return;
    const headers: Record<string, string> = { ...response.headers };
    let body = response.body;
    if (body === undefined && response.json !== undefined) body = JSON.stringify(response.json);
    if (body === undefined && response.status >= 400) body = JSON.stringify(errorBody(response.status));
    if (body !== undefined && response.body === undefined && !hasHeader(headers, "content-type")) {
      headers["content-type"] = "application/json";
    }
    res.writeHead(response.status, headers);
    res.end(body ?? "");
  };
  if (response.delayMs && response.delayMs > 0) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      write();
    }, response.delayMs);
    timers.add(timer);
  } else {
    write();
  }
}

/** The answer helpers a route handler uses. */
export interface Responder {
  send(response: ScriptedResponse): void;
  json(status: number, value: unknown): void;
  error(status: number, code: string, message: string): void;
}

export function responder(timers: Set<NodeJS.Timeout>, res: ServerResponse): Responder {
  const json = (status: number, value: unknown): void => send(timers, res, { status, json: value });
  return {
    send: (response) => send(timers, res, response),
    json,
    error: (status, code, message) => json(status, { error: { code, message } }),
  };
}

function errorBody(status: number): { error: { code: string; message: string } } {
  const code = DEFAULT_ERROR_CODES[status] ?? (status >= 500 ? "internal_error" : "error");
  return { error: { code, message: `Scripted ${status} response.` } };
}

export function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}

export function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

export function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
