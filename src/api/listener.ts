import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The relay's one listening socket, from the first bind to the drain. While the relay waits for its database
 * it answers `/healthz` 200 (alive: do not restart it), `/readyz` 503 and anything else 503
 * `service_unavailable`; `serve` hands the same socket to the API, so a client never meets a refused
 * connection between the two; `drain` makes `/readyz` answer 503 while everything else is still served,
 * so load balancers take the endpoint out before `close` stops accepting connections.
 */
export interface ApiListener {
  readonly server: Server;
  readonly port: number;
  /** Serves every request with `handler` from now on. */
  serve(handler: RequestListener): void;
  /** `/readyz` answers 503 `draining` from now on; the rest is served as before. */
  drain(): void;
  /** Stops accepting connections, closes idle ones, and resolves once the open ones have ended. */
  close(): Promise<void>;
  /** Ends every connection still open (after the drain's grace). */
  closeAllConnections(): void;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

/** What a relay still waiting for its database answers. */
function waiting(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?")[0];
  if (path === "/healthz") return void json(res, 200, { data: { status: "ok" } });
  if (path === "/readyz") {
    return void json(res, 503, { data: { status: "not_ready", checks: { database: "unreachable", upstream_key: "unknown" } } });
  }
  json(res, 503, { error: { code: "service_unavailable", message: "the relay is waiting for its database" } });
}

/** Requests Node's HTTP parser refuses never reach a handler: answer them with the error envelope too. */
function answerClientError(err: NodeJS.ErrnoException, socket: import("node:stream").Duplex): void {
  if (!socket.writable || err.code === "ECONNRESET") return void socket.destroy();
  const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
  const body = JSON.stringify({
    error: tooLarge
      ? { code: "payload_too_large", message: "the request headers are too large" }
      : { code: "validation_failed", message: "the request is not valid HTTP" },
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Binds `host:port` (0: a free port) and answers as a relay waiting for its database until `serve`. */
export async function listenForApi(port: number, host: string): Promise<ApiListener> {
  let handler: RequestListener = waiting;
  let draining = false;
  const server = createServer((req, res) => {
    if (draining) {
      res.setHeader("connection", "close");
      if ((req.url ?? "/").split("?")[0] === "/readyz") {
        return void json(res, 503, { data: { status: "not_ready", checks: { draining: true } } });
      }
    }
    handler(req, res);
  });
  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    serve(next) {
      handler = next;
    },
    drain() {
      draining = true;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
    closeAllConnections: () => server.closeAllConnections(),
  };
}
