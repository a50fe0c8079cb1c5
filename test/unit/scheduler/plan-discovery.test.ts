import { describe, expect, it } from "vitest";
import { listQuery } from "../../../src/domain/subscription.js";
import { planDiscovery } from "../../../src/scheduler/plan-discovery.js";

const jobs = [
  { id: "job_running", terminal: false },
  { id: "job_done", terminal: true },
  { id: "job_seen", terminal: false },
  { id: "job_running", terminal: false }, // listed twice: announced once
];

describe("planDiscovery", () => {
  it("the first listing is a baseline: terminal jobs are only recorded, running ones announced", () => {
    expect(planDiscovery(jobs, { firstListing: true, includeExisting: false, seen: new Set(["job_seen"]) })).toEqual({
      announce: ["job_running"],
      baselined: ["job_done"],
    });
  });

  it("include_existing announces the terminal ones of the first listing too", () => {
    expect(planDiscovery(jobs, { firstListing: true, includeExisting: true, seen: new Set() })).toEqual({
      announce: ["job_running", "job_done", "job_seen"],
      baselined: [],
    });
  });

  it("after the baseline a new job is announced whatever its status (it finished between two listings)", () => {
    expect(planDiscovery(jobs, { firstListing: false, includeExisting: false, seen: new Set(["job_seen"]) })).toEqual({
      announce: ["job_running", "job_done"],
      baselined: [],
    });
  });

  it("a job seen before is never new again", () => {
    const seen = new Set(jobs.map((j) => j.id));
    expect(planDiscovery(jobs, { firstListing: false, includeExisting: true, seen })).toEqual({ announce: [], baselined: [] });
  });
});

describe("listQuery", () => {
  it("sends source_type always and the other filters when set, in a fixed order", () => {
    expect(listQuery({ source_type: "studio" })).toEqual({ source_type: "studio" });
    expect(Object.entries(listQuery({ source_id: "s", job_type: "t", project_id: "p", source_type: "api" }))).toEqual([
      ["source_type", "api"],
      ["project_id", "p"],
      ["job_type", "t"],
      ["source_id", "s"],
    ]);
  });
});
