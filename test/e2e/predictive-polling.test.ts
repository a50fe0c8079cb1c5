import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type TestWorld } from "../support/relay-harness.js";
import { waitFor } from "../support/wait-for.js";

describe("predictive polling", () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startWorld({ env: { POLL_MAX_INTERVAL_MS: "10000" } });
  });
  afterAll(async () => {
    await world?.close();
  });

  const db = () => world.relay.deps.db;
  const statsOf = async (type: string) =>
    (
      await db().rows<{ samples: number; mean_log: number }>(
        sql`select samples, mean_log from job_type_stats where job_type = ${type}`,
      )
    )[0];

  it("packs polls where a job type usually finishes, from the fit stored by an earlier run", async () => {
    // History: generate_image jobs take about 4 s.
    await db().rows(sql`
      insert into job_type_stats (tenant_id, job_type, samples, mean_log, var_log)
      values ('ten_default', 'generate_image', 50, ${Math.log(4000)}, ${0.2 ** 2})`);
    await world.relay.scheduler.stop(0); // reload the learned fits at the next claim
    world.relay.scheduler.start();

    const jobId = world.rendley.addJob({ type: "generate_image", steps: ["processing"] });
    const registeredAt = Date.now();
    const watch = await world.watch({ job_id: jobId });
    // Watch the polls the fake Rendley actually receives over the first 6.5 s.
    await waitFor(() => world.rendley.pollTimes(jobId).some((t) => t - registeredAt > 6_500), { timeoutMs: 15_000 });
    const offsets = world.rendley.pollTimes(jobId).map((t) => t - registeredAt);
    const [stored] = await db().rows<{ planned_predictive: boolean }>(
      sql`select planned_predictive from polls where job_id = ${jobId}`,
    );
    expect(stored!.planned_predictive).toBe(true);
    console.log(`predictive poll offsets: ${offsets.join(", ")}`);
    const gaps = offsets.slice(1).map((o, i) => o - offsets[i]!);
    // The first poll comes at once (it learns the job type). Plain backoff would then poll at about 1 s, 2.5 s,
    // 4.75 s, 8.1 s. The learned plan skips the first 1.5 s (these jobs never finish that early) and polls every
    // ~1.3 s around the 4 s median instead of every 2–3 s.
    expect(offsets[1]).toBeGreaterThanOrEqual(1_500);
    const aroundMedian = offsets.filter((o) => o >= 2_000 && o <= 6_000); // backoff: 2 polls here
    expect(aroundMedian.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...aroundMedian.slice(1).map((o, i) => o - aroundMedian[i]!))).toBeLessThanOrEqual(2_000);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(990); // never under the 1 s floor

    world.rendley.setJob(jobId, "completed");
    await world.waitForWatch(watch.id, (w) => w.status === "delivered", 20_000);
  }, 60_000);

  it("learns a new type from the jobs it watches, while they still run, and stores the fit for other relays", async () => {
    // 30 jobs of a type never seen, each completing at its 3rd to 5th poll (about 2.5 s to 8 s in).
    const ids = Array.from({ length: 30 }, (_, i) =>
      world.rendley.addJob({ type: "transcribe", steps: [...Array<string>(2 + (i % 3)).fill("processing"), "completed"] }),
    );
    await Promise.all(ids.map((job_id) => world.watch({ job_id })));
    // Stored at the next save (every 10 s) once the fit rests on 20 completions.
    const stored = await waitFor(
      async () => {
        const row = await statsOf("transcribe");
        return row && row.samples >= 20 ? row : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(Math.exp(stored.mean_log)).toBeGreaterThan(1_000);
    expect(Math.exp(stored.mean_log)).toBeLessThan(10_000);
  }, 60_000);
});
