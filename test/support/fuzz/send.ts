/** Sending a fuzzed request (in-process, with fetch, as raw bytes on a socket) and reading its answer. */
import { connect } from "node:net";
import { BASE } from "./constants.js";
import type { Spec } from "./requests.js";

export interface Answer {
  status: number;
  body: string;
  contentType: string | null;
  /** false: Node's HTTP parser refused the request before any JavaScript saw it (no Date header). */
  fromServer: boolean;
}

export function toRequest(spec: Spec): Request | undefined {
  try {
    const headers = new Headers();
    for (const [name, value] of spec.headers) headers.append(name, value);
    return new Request(BASE + spec.path, { method: spec.method, headers, body: spec.body ?? null });
  } catch {
    return undefined; // not a request any client could send (forbidden method, bad header value)
  }
}

export async function answerOf(res: Response): Promise<Answer> {
  return {
    status: res.status,
    body: await res.text(),
    contentType: res.headers.get("content-type"),
    fromServer: true,
  };
}

/** Writes the bytes on a fresh connection and reads the first answer (Connection: close ends it). */
export function sendRaw(port: number, bytes: Buffer): Promise<Answer | "no answer"> {
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

export function parseRawAnswer(data: Buffer): Answer | "no answer" {
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

export const textOf = (body: string | Uint8Array | undefined) =>
  body === undefined ? undefined : typeof body === "string" ? body : Buffer.from(body).toString("utf8");
export const bytesOf = (body: string | Uint8Array | undefined) =>
  body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
