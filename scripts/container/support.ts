import { createServer } from "node:net";
import type { Receiver, ReceivedCallback } from "../../test/support/receiver.js";
import { waitFor } from "../../test/support/wait-for.js";
import { podman, type Container } from "./podman.js";

/** [label, milliseconds] of every step, printed at the end. */
export const timings: [string, number][] = [];

/** Runs one timed step and prints how long it took. */
export async function step<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    const ms = performance.now() - started;
    timings.push([label, ms]);
    console.log(`-- ${label}: ${(ms / 1000).toFixed(1)} s`);
  }
}

/** Throws `message` unless `ok`; prints it when it holds. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(`check failed: ${message}`);
  console.log(`ok  ${message}`);
}

export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A relay container on 127.0.0.1: its API and how to wait until it is ready. */
export interface Relay {
  readonly url: string;
  readonly apiKey: string;
  readonly container: Container;
}

/** One request to a relay, bearer `token` (default its API key); the body parsed when it is JSON. */
export async function http(
  relay: Relay,
  method: string,
  path: string,
  body?: unknown,
  token = relay.apiKey,
): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${relay.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** Waits until `/readyz` answers 200; fails at once, with its logs, if the container has exited. */
export async function ready(relay: Relay, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${relay.url}/readyz`, { signal: AbortSignal.timeout(3_000) })).status === 200) return;
    } catch {
      // not listening yet
    }
    const { stdout } = await podman(["inspect", "--format", "{{.State.Running}}", relay.container.name]);
    if (stdout.trim() !== "true")
      throw new Error(`${relay.container.name} exited before /readyz:\n${await relay.container.logs()}`);
    if (Date.now() > deadline)
      throw new Error(`${relay.container.name}: no /readyz 200 within ${timeoutMs} ms:\n${await relay.container.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The first callback of `type` for `jobId`. */
export function callbackFor(receiver: Receiver, jobId: string, type: string, timeoutMs = 60_000): Promise<ReceivedCallback> {
  return waitFor(() => receiver.received.find((c) => c.body?.type === type && c.body?.data?.job_id === jobId), {
    timeoutMs,
    message: `${type} callback for ${jobId}`,
  });
}

/** POST /v1/watches; returns the watch id. */
export async function register(relay: Relay, jobId: string, callbackUrl: string): Promise<string> {
  const res = await http(relay, "POST", "/v1/watches", { job_id: jobId, callback_url: callbackUrl });
  if (res.status !== 201) throw new Error(`POST /v1/watches for ${jobId} answered ${res.status}: ${res.text}`);
  return (res.body as { data: { id: string } }).data.id;
}
