import type { LatencyBucket } from "../../db/queries/dashboard-latency.js";
import { formatMs } from "./layout.js";

const WIDTH = 720;
const HEIGHT = 200;
const PAD = { left: 56, right: 12, top: 12, bottom: 26 };
const MINUTES = 60;

/** A round axis maximum at or above `max` (1, 2 or 5 times a power of ten). */
function niceMax(max: number): number {
  if (max <= 0) return 100;
  const power = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((f) => f * power >= max) ?? 10) * power;
}

/**
 * Notify latency over the last hour as an inline SVG: p50 and p95 per minute (only minutes with
 * acknowledgements have points; a gap in the line is a minute without any). Native `<title>` tooltips,
 * no script.
 */
export function LatencyChart(props: { buckets: LatencyBucket[]; now: Date }) {
  const { buckets } = props;
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const yMax = niceMax(Math.max(0, ...buckets.map((b) => b.p95Ms)));
  const end = Math.ceil(props.now.getTime() / 60_000) * 60_000;
  const start = end - MINUTES * 60_000;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (at: Date) => PAD.left + ((at.getTime() - start) / 60_000 + 0.5) * (plotW / MINUTES);
  const y = (ms: number) => PAD.top + plotH - (Math.min(ms, yMax) / yMax) * plotH;
  const line = (pick: (b: LatencyBucket) => number) =>
    buckets.map((b) => `${x(b.at).toFixed(1)},${y(pick(b)).toFixed(1)}`).join(" ");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const xTicks = [0, 15, 30, 45, 60];

  return (
    <figure class="card" aria-labelledby="latency-title">
      <h2 id="latency-title">Notify latency, last hour</h2>
      <p class="muted">
        Terminal job status seen → callback acknowledged, per minute: <b>p50</b> (solid) and <b>p95</b> (dashed). {total}{" "}
        acknowledged
        {total === 1 ? " delivery" : " deliveries"}.
      </p>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-label={`Notify latency per minute over the last hour: ${total} acknowledged deliveries`}
        data-testid="latency-chart"
      >
        {ticks.map((t) => (
          <g>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} stroke="#eaeef2" />
            <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
              {formatMs(t)}
            </text>
          </g>
        ))}
        {xTicks.map((m) => (
          <text x={PAD.left + (m / MINUTES) * plotW} y={HEIGHT - 8} text-anchor="middle">
            {m === 60 ? "now" : `-${60 - m} min`}
          </text>
        ))}
        {buckets.length === 0 ? (
          <text x={PAD.left + plotW / 2} y={PAD.top + plotH / 2} text-anchor="middle">
            No acknowledged deliveries in the last hour
          </text>
        ) : null}
        <polyline points={line((b) => b.p95Ms)} fill="none" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="4 3" />
        <polyline points={line((b) => b.p50Ms)} fill="none" stroke="#0969da" stroke-width="2" />
        {buckets.map((b) => (
          <circle cx={x(b.at)} cy={y(b.p50Ms)} r="3" fill="#0969da" data-testid="latency-point">
            <title>{`${b.at.toISOString().slice(11, 16)}Z · ${b.count} acknowledged · p50 ${formatMs(b.p50Ms)} · p95 ${formatMs(b.p95Ms)}`}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
