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

  it("packs polls where a job type usually finishes, and learns from every job it sees finish", async () => {
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

    const before = (await statsOf("generate_image"))!.mean_log;
    world.rendley.setJob(jobId, "completed");
    await world.waitForWatch(watch.id, (w) => w.status === "delivered", 20_000);
    // It finished after 6.5 s, later than the fit's 4 s median: the fit moves towards it, once its cohort is
    // complete (the fit's 99.9th percentile, 7.4 s, plus the 10 s maximum interval and 5 s: 22.4 s after the start).
    await waitFor(async () => (await statsOf("generate_image"))!.mean_log > before, { timeoutMs: 25_000 });
    expect(Date.now() - registeredAt).toBeGreaterThanOrEqual(22_000);
  }, 60_000);
});
