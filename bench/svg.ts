import { percentile } from "./metrics.js";

/** One line of the chart. */
export interface CdfSeries {
  name: string;
  color: string;
  /** Raw values (any order), in the x unit. */
  values: readonly number[];
}

const W = 860;
const H = 500;
const M = { left: 70, right: 24, top: 48, bottom: 62 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round tick step giving about `target` ticks over [0, max]: 1, 2 or 5 × 10^k. */
function tickStep(max: number, target = 8): number {
  const raw = max / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

/** Fraction of sorted values ≤ x (binary search). */
function cdfAt(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length ? lo / sorted.length : 0;
}

/**
 * A hand-written SVG of empirical CDFs: linear x axis from 0 to the p99.5 of the worst series (so one
 * straggler does not squash the chart), y from 0 to 1, labelled axes, grid, legend. The curve is sampled at
 * every horizontal pixel, which keeps the file small whatever the number of values.
 */
export function cdfSvg(o: { title: string; xLabel: string; yLabel: string; series: readonly CdfSeries[]; unit: string }): string {
  const sorted = o.series.map((s) => [...s.values].sort((a, b) => a - b));
  const xMax = Math.max(1e-9, ...sorted.map((v) => percentile(v, 99.5) ?? 0));
  const step = tickStep(xMax);
  const x = (v: number) => M.left + (Math.min(v, xMax) / xMax) * PW;
  const y = (f: number) => M.top + (1 - f) * PH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${esc(o.title)}</text>`,
  );
  // Grid and ticks.
  for (let t = 0; t <= xMax + 1e-9; t += step) {
    const px = x(t).toFixed(1);
    out.push(
      `<line x1="${px}" y1="${M.top}" x2="${px}" y2="${M.top + PH}" stroke="#e5e5e5"/>`,
      `<text x="${px}" y="${M.top + PH + 18}" text-anchor="middle">${+t.toFixed(6)}</text>`,
    );
  }
  for (let f = 0; f <= 1.0001; f += 0.1) {
    const py = y(f).toFixed(1);
    out.push(
      `<line x1="${M.left}" y1="${py}" x2="${M.left + PW}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${f.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + PW / 2}" y="${H - 18}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(18 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  // Curves.
  o.series.forEach((s, i) => {
    const values = sorted[i]!;
    if (values.length === 0) return;
    const points: string[] = [];
    for (let px = 0; px <= PW; px++) {
      const v = (px / PW) * xMax;
      points.push(`${(M.left + px).toFixed(1)},${y(cdfAt(values, v)).toFixed(1)}`);
    }
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points.join(" ")}"/>`);
  });
  // Legend (bottom right, inside the plot where the curves have reached the top).
  const lx = M.left + PW - 330;
  const ly = M.top + PH - 18 - 20 * o.series.length;
  out.push(`<rect x="${lx - 10}" y="${ly - 16}" width="330" height="${20 * o.series.length + 12}" fill="white" stroke="#ccc"/>`);
  o.series.forEach((s, i) => {
    const v = sorted[i]!;
    const p50 = percentile(v, 50);
    const p99 = percentile(v, 99);
    const label = `${s.name} (p50 ${p50?.toFixed(1) ?? "n/a"} ${o.unit}, p99 ${p99?.toFixed(1) ?? "n/a"} ${o.unit}, n=${v.length})`;
    const yy = ly + 20 * i;
    out.push(
      `<line x1="${lx}" y1="${yy - 4}" x2="${lx + 24}" y2="${yy - 4}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${lx + 32}" y="${yy}">${esc(label)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
