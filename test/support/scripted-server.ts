import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the scripted server saw it. */
export interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/** How to answer: a JSON body (or raw text), a status, headers; `hang` never answers (until close). */
export type Reply = { status?: number; json?: unknown; text?: string; headers?: Record<string, string>; hang?: boolean };

/**
 * An HTTP server on 127.0.0.1 that answers every request as `reply` says (a stand-in relay for the typed client's
 * tests): the request is read whole and its JSON body parsed first.
 */
export async function startScriptedServer(reply: (req: Seen) => Reply): Promise<{ url: string; close(): Promise<void> }> {
  const hanging = new Set<ServerResponse>();
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://x");
    const answer = reply({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers as Record<string, string | undefined>,
      body: raw === "" ? undefined : JSON.parse(raw),
    });
    if (answer.hang) {
      hanging.add(res);
      return;
    }
    res.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers });
    res.end(answer.text ?? JSON.stringify(answer.json));
  }
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
