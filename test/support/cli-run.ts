import { Readable, Writable } from "node:stream";
import { runCli } from "../../src/cli/main.js";

/** What one CLI run printed and exited with. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (undefined when it is not JSON). */
  json: any;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join("") };
}

/**
 * Runs the CLI in process (as `rendley-relay <args>` would) with this environment (default: the process's) and,
 * optionally, stdin.
 */
export async function runCliCaptured(
  args: string[],
  options: { env?: Record<string, string | undefined>; stdin?: string | undefined } = {},
): Promise<CliRun> {
  const out = sink();
  const err = sink();
  const code = await runCli(args, {
    stdout: out.stream,
    stderr: err.stream,
    ...(options.env ? { env: options.env } : {}),
    ...(options.stdin !== undefined ? { stdin: Readable.from([options.stdin]) } : {}),
  });
  let json: unknown;
  try {
    json = JSON.parse(out.text());
  } catch {
    json = undefined;
  }
  return { code, stdout: out.text(), stderr: err.text(), json };
}
