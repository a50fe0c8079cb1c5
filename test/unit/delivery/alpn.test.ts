import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { Agent, request, type Dispatcher } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstreamAgent } from "../../../src/deps.js";
import { parseCallbackAllowlist } from "../../../src/security/callback-allowlist.js";
import { createGuardedAgent } from "../../../src/security/guarded-agent.js";

// undici 8 offers HTTP/2 in the TLS handshake by default; the relay's dispatchers stay on HTTP/1.1. A loopback
// TCP server reads the ClientHello each one sends (in the clear, before any certificate) and hangs up.

/** The protocols a TLS ClientHello offers in its ALPN extension (RFC 8446 §4.1.2, RFC 7301), or [] without one. */
function offeredAlpn(hello: Buffer): string[] {
  let at = 5 + 4 + 2 + 32; // record header, handshake header, legacy_version, random
  at += 1 + hello[at]!; // legacy_session_id
  at += 2 + hello.readUInt16BE(at); // cipher_suites
  at += 1 + hello[at]!; // legacy_compression_methods
  const end = at + 2 + hello.readUInt16BE(at);
  for (at += 2; at < end; at += 4 + hello.readUInt16BE(at + 2)) {
    if (hello.readUInt16BE(at) !== 0x0010) continue;
    const names: string[] = [];
    const last = at + 4 + hello.readUInt16BE(at + 2);
    for (let p = at + 6; p < last; p += 1 + hello[p]!) names.push(hello.toString("latin1", p + 1, p + 1 + hello[p]!));
    return names;
  }
  return [];
}

let server: Server;
let port: number;
const hellos: Buffer[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 5 && received.length >= 5 + received.readUInt16BE(3)) {
        hellos.push(received);
        socket.destroy();
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The ALPN list of the ClientHello `dispatcher` sends for one HTTPS request to the loopback server. */
async function alpnOf(dispatcher: Dispatcher): Promise<string[]> {
  hellos.length = 0;
  await request(`https://127.0.0.1:${port}/`, { dispatcher }).then(
    () => expect.fail("the server only hangs up"),
    () => undefined,
  );
  await dispatcher.close();
  expect(hellos).toHaveLength(1);
  return offeredAlpn(hellos[0]!);
}

describe("HTTP/1.1 only under undici 8", () => {
  it("undici 8's own default offers h2 (what the relay opts out of; also proves the ClientHello is read)", async () => {
    expect(await alpnOf(new Agent())).toEqual(expect.arrayContaining(["http/1.1", "h2"]));
  });

  it("the upstream agent offers http/1.1 alone", async () => {
    expect(await alpnOf(createUpstreamAgent({ pollConcurrency: 4, upstreamTimeoutMs: 5_000 }))).toEqual(["http/1.1"]);
  });

  it("the guarded callback agent offers http/1.1 alone, and h2 only when asked", async () => {
    const allowlist = parseCallbackAllowlist(`127.0.0.1:${port}`);
    expect(await alpnOf(createGuardedAgent({ allowlist }))).toEqual(["http/1.1"]);
    expect(await alpnOf(createGuardedAgent({ allowlist, agentOptions: { allowH2: true } }))).toContain("h2");
  });
});
