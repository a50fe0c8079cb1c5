import type { ReceivedCallback } from "./receiver.js";

/** One job of the demo, as the terminal shows it. */
export interface DemoJob {
  label: string;
  type: string;
  /**
   * How it was started: through the relay's POST /v1/export, by registering a watch for an existing job, or in the
   * Rendley editor (nobody registers it: a subscription of the relay discovers it).
   */
  via: "POST /v1/export" | "POST /v1/watches" | "in the editor";
  /** The outcome the simulator will give it. */
  expected: "completed" | "failed" | "canceled";
  jobId?: string;
  watchId?: string;
  /** The subscription that is to discover it (`in the editor`). */
  subscriptionId?: string;
  /** Rendley's status as the relay last saw it ("starting" before the job exists). */
  jobStatus: string;
  /** The watch's status (watching, delivering, delivered, …). */
  watchStatus: string;
  callbacks: ReceivedCallback[];
  /** Why it could not be started. */
  startError?: string;
}

export interface View {
  /** Shown above the table (TTY) or printed once (plain). */
  header(lines: string[]): void;
  /** A moment worth a line: printed at once (plain) or added to the recent-events list (TTY). */
  event(line: string): void;
  /** The jobs changed: redraw (TTY, at most every 100 ms) or nothing (plain: events say it). */
  render(jobs: readonly DemoJob[]): void;
  /** Draws a last time and gives the cursor back. */
  close(jobs: readonly DemoJob[]): void;
}

const RECENT_EVENTS = 12;
const COLORS = { green: 32, red: 31, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

/**
 * The live terminal view. On a TTY the screen is redrawn with ANSI escapes (a table of jobs, then recent
 * events); otherwise each event is appended as one plain line, so logs and tests can read it.
 */
export function createView(options: { tty: boolean; write: (text: string) => void; startedAt?: number }): View {
  const { tty, write } = options;
  const startedAt = options.startedAt ?? Date.now();
  const paint = (color: keyof typeof COLORS, text: string) => (tty ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text);
  let headerLines: string[] = [];
  const recent: string[] = [];
  let lastJobs: readonly DemoJob[] = [];
  let timer: NodeJS.Timeout | undefined;

  const elapsed = () => `+${((Date.now() - startedAt) / 1000).toFixed(1)}s`.padStart(7);

  const statusColor = (status: string): string => {
    if (["completed", "delivered"].includes(status)) return paint("green", status);
    if (["failed", "expired"].includes(status)) return paint("red", status);
    if (["processing", "delivering", "queued", "watching"].includes(status)) return paint("yellow", status);
    return status;
  };

  const callbacksCell = (job: DemoJob) =>
    job.callbacks
      .map((c) => `${c.type.replace(/^job\./, "")} ${c.verified ? paint("green", "✓") : paint("red", "✗")}`)
      .join("  ") || paint("dim", "none yet");

  const draw = () => {
    timer = undefined;
    const columns: Array<[string, number, (job: DemoJob) => string]> = [
      ["JOB", 20, (j) => j.label],
      ["TYPE", 15, (j) => j.type],
      ["STARTED WITH", 17, (j) => j.via],
      ["OUTCOME", 10, (j) => j.expected],
      ["JOB STATUS", 12, (j) => (j.startError ? "error" : j.jobStatus)],
      ["WATCH", 11, (j) => j.watchStatus],
    ];
    const pad = (text: string, width: number) => text + " ".repeat(Math.max(1, width - visibleLength(text)));
    const lines = [
      ...headerLines,
      "",
      paint("bold", columns.map(([name, width]) => pad(name, width)).join("") + "CALLBACKS (✓ signature verified)"),
      ...lastJobs.map(
        (job) =>
          columns.map(([, width, cell], i) => pad(i >= 4 ? statusColor(cell(job)) : cell(job), width)).join("") +
          (job.startError ? paint("red", job.startError) : callbacksCell(job)),
      ),
      "",
      paint("bold", "Recent events"),
      ...recent,
    ];
    write(`\x1b[H\x1b[J${lines.join("\n")}\n`);
  };

  if (tty) write("\x1b[?25l\x1b[2J");
  return {
    header(lines) {
      headerLines = lines;
      if (!tty) write(`${lines.join("\n")}\n`);
    },
    event(line) {
      const stamped = `${paint("dim", elapsed())}  ${line}`;
      if (!tty) return write(`${stamped}\n`);
      recent.push(stamped);
      if (recent.length > RECENT_EVENTS) recent.shift();
    },
    render(jobs) {
      lastJobs = jobs;
      if (tty) timer ??= setTimeout(draw, 100);
    },
    close(jobs) {
      if (timer) clearTimeout(timer);
      lastJobs = jobs;
      if (tty) {
        draw();
        write("\x1b[?25h");
      }
    },
  };
}

/** Length without ANSI escapes. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** The plain one-line summary of a callback. */
export function describeCallback(callback: ReceivedCallback, label: string): string {
  const verdict = callback.verified ? "signature verified" : `SIGNATURE NOT VERIFIED (${callback.problem ?? "?"})`;
  const ids = [callback.jobId, `webhook-id ${callback.webhookId}`];
  if (callback.subscriptionId) ids.push(`subscription_id ${callback.subscriptionId}`);
  return `callback ${callback.type} for ${label} (${ids.join(", ")}): ${verdict}`;
}
