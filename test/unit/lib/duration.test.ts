import { describe, expect, it } from "vitest";
import { formatDurationMs, parseDurationMs, parseScheduleMs } from "../../../src/lib/duration.js";

describe("parseDurationMs", () => {
  it.each<[string, number]>([
    ["0ms", 0],
    ["250ms", 250],
    ["1s", 1_000],
    ["5s", 5_000],
    ["1.5s", 1_500],
    ["0.5ms", 1], // rounded to whole milliseconds
    ["0.4ms", 0],
    ["5m", 300_000],
    ["30m", 1_800_000],
    ["2h", 7_200_000],
    ["10h", 36_000_000],
    ["1d", 86_400_000],
    [" 5s ", 5_000], // surrounding whitespace ignored
  ])("%j → %i", (raw, expected) => {
    expect(parseDurationMs(raw)).toBe(expected);
  });

  it.each([
    ["5"], // no unit: ambiguous
    [""],
    ["s"],
    ["5 s"],
    ["5S"],
    ["-5s"],
    ["+5s"],
    [".5s"],
    ["5.s"],
    ["1e3ms"],
    ["5sec"],
    ["5w"],
    ["5s5m"],
    ["none"],
  ])("rejects %j, naming it", (raw) => {
    expect(() => parseDurationMs(raw)).toThrow(`"${raw}" is not a duration (use a number with a unit: ms, s, m, h, d; e.g. 5s)`);
  });

  it("rejects a value too large to represent", () => {
    const raw = `${"9".repeat(400)}d`;
    expect(() => parseDurationMs(raw)).toThrow(`"${raw}" is too large`);
  });
});

describe("parseScheduleMs", () => {
  it.each<[string, number[]]>([
    ["5s", [5_000]],
    ["5s,5m,30m", [5_000, 300_000, 1_800_000]],
    ["5s,5m,30m,2h,5h,10h,10h", [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]],
    ["5s, 5m ,30m", [5_000, 300_000, 1_800_000]],
    ["250ms,250ms", [250, 250]],
    ["none", []],
    ["  none  ", []],
  ])("%j → %j", (raw, expected) => {
    expect(parseScheduleMs(raw)).toEqual(expected);
  });

  it.each<[string, string]>([
    ["", "the schedule is empty (use `none` for no retries)"],
    ["   ", "the schedule is empty (use `none` for no retries)"],
    ["5", '"5" is not a duration'],
    ["5s,,5m", '"" is not a duration'],
    ["5s,", '"" is not a duration'],
    ["none,5s", '"none" is not a duration'],
    ["NONE", '"NONE" is not a duration'],
    ["5s;5m", '"5s;5m" is not a duration'],
  ])("rejects %j", (raw, message) => {
    expect(() => parseScheduleMs(raw)).toThrow(message);
  });
});

describe("formatDurationMs", () => {
  it.each<[number, string]>([
    [0, "0ms"],
    [1, "1ms"],
    [999, "999ms"],
    [1_000, "1s"],
    [1_500, "1500ms"],
    [5_000, "5s"],
    [59_000, "59s"],
    [60_000, "1m"],
    [90_000, "90s"],
    [300_000, "5m"],
    [3_600_000, "1h"],
    [5_400_000, "90m"],
    [36_000_000, "10h"],
    [86_400_000, "1d"],
    [172_800_000, "2d"],
    [90_000_000, "25h"],
  ])("%i → %s", (ms, expected) => {
    expect(formatDurationMs(ms)).toBe(expected);
  });

  it.each([
    0,
    1,
    250,
    999,
    1_000,
    1_001,
    1_500,
    59_999,
    60_000,
    61_000,
    3_599_000,
    3_600_000,
    86_399_999,
    86_400_000,
    7 * 86_400_000,
  ])("round trips %i through parseDurationMs", (ms) => {
    expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
  });

  it("round trips the default schedule", () => {
    const raw = "5s,5m,30m,2h,5h,10h,10h";
    expect(parseScheduleMs(raw).map(formatDurationMs).join(",")).toBe(raw);
  });
});
