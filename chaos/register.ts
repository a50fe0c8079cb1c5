import type { FakeUpstream, FinalStatus } from "./fake-upstream.js";
import type { Prng } from "./prng.js";
import type { ReceiverFleet } from "./receivers.js";
import type { RelaySlot } from "./relays.js";

/**
 * Registers `count` watches spread evenly over `windowMs`, each for a fresh job that finishes 2–20 s later, through
 * whichever relay is up (an Idempotency-Key makes a retried registration safe). Resolves with how many succeeded.
 */
export async function registerWatches(options: {
  count: number;
  windowMs: number;
  slots: RelaySlot[];
  upstream: FakeUpstream;
  receivers: ReceiverFleet;
  apiKey: string;
  random: Prng;
  signal: AbortSignal;
}): Promise<number> {
  const { count, windowMs, slots, upstream, receivers, apiKey, random, signal } = options;
  const startedAt = Date.now();
  let registered = 0;
  const one = async (i: number, jobId: string, receiver: number) => {
    const deadline = Date.now() + 120_000;
    while (!signal.aborted && Date.now() < deadline) {
      const live = slots.filter((s) => s.running && s.url);
      const slot = live.length > 0 ? random.pick(live) : undefined;
      if (slot?.url) {
        try {
          const res = await fetch(`${slot.url}/v1/watches`, {
            method: "POST",
            headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "idempotency-key": `chaos-${i}` },
            body: JSON.stringify({ job_id: jobId, callback_url: receivers.url(receiver) }),
            signal: AbortSignal.timeout(30_000), // a busy relay is slow, not gone: no retry storm
          });
          await res.arrayBuffer();
          if (res.status === 201 || res.status === 200) {
            registered++;
            return;
          }
        } catch {
          // the relay was killed mid-request, or the database is away: try again
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count && !signal.aborted; i++) {
    const dueAt = startedAt + (i * windowMs) / count;
    const wait = dueAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const roll = random.next();
    const final: FinalStatus = roll < 0.85 ? "completed" : roll < 0.95 ? "failed" : "canceled";
    const jobId = `job_chaos_${i}`;
    upstream.addJob(jobId, random.int(2_000, 20_000), final);
    pending.push(one(i, jobId, i % receivers.size));
  }
  await Promise.all(pending);
  return registered;
}
