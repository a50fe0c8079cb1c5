import { Command, InvalidArgumentError, Option } from "commander";
import { readFile } from "node:fs/promises";
import type { CostAnswer, RelayClient, StartedJob, StartJobInput } from "../client/index.js";
import { print, printJson, tenantClient, type CliContext, type ConnectionOptions } from "./context.js";
import { formatWatch } from "./format-watch.js";
import { collectEvents, EVENTS, idempotencyKey, metadataObject, parseJsonObject, withTenantOptions } from "./options.js";
import { UsageError } from "./usage-error.js";
import { watchFields, type WatchFieldOptions } from "./watches.js";

type Common = ConnectionOptions & { json?: boolean };
type BodyOptions = { body?: string; bodyFile?: string };

/** What a job is started at: Rendley's export, one of its AI tools, or the agent. */
export type StartTarget = { kind: "export" } | { kind: "ai"; action: string } | { kind: "agent" };

const TARGETS_HELP = "export, ai/<action> (e.g. ai/transcribe) or agent";
const ACTION = /^[a-z0-9][a-z0-9-]{0,63}$/;
const START_EXAMPLES = `
Examples:
  rendley-relay start export --callback-url https://app.example.com/hook --body '{"project_id":"prj_123"}'
  rendley-relay start ai/transcribe --callback-url https://app.example.com/hook --body-file transcribe.json
  rendley-relay start agent --callback-url https://app.example.com/hook --body '{"prompt":"Trim the intro"}'
  rendley-relay cost ai/transcribe --body '{"project_id":"prj_123"}'`;

/** `export`, `ai/<action>` or `agent` (the agent service has no price: not a `cost` target). */
export function parseTarget(value: string, options: { cost?: boolean } = {}): StartTarget {
  if (value === "export") return { kind: "export" };
  if (value === "agent") {
    if (options.cost) throw new InvalidArgumentError("the agent service has no price endpoint (expected export or ai/<action>)");
    return { kind: "agent" };
  }
  const ai = /^ai\/(.*)$/.exec(value);
  if (ai && ACTION.test(ai[1]!)) return { kind: "ai", action: ai[1]! };
  throw new InvalidArgumentError(
    ai ? "an AI action is lower case letters, digits and dashes (e.g. ai/text-to-speech)" : `expected ${TARGETS_HELP}`,
  );
}

/** Starts the job at its target and watches it. */
export function startAt(client: RelayClient, target: StartTarget, body: StartJobInput, key: string | undefined) {
  const options = { idempotencyKey: key };
  if (target.kind === "ai") return client.startAi(target.action, body, options);
  return target.kind === "agent" ? client.startAgent(body, options) : client.startExport(body, options);
}

/** Rendley's price for the body at its target, as Rendley answered it. */
export function costAt(client: RelayClient, target: Exclude<StartTarget, { kind: "agent" }>, body: Record<string, unknown>) {
  return target.kind === "ai" ? client.aiCost(target.action, body) : client.exportCost(body);
}

/** JSON text as a body: a JSON object, else a usage error naming where it came from. */
function jsonBody(text: string, where: string): Record<string, unknown> {
  const parsed = parseJsonObject(text);
  if (!parsed) throw new UsageError(`${where}: expected a JSON object, e.g. '{"project_id":"prj_123"}'`);
  return parsed;
}

async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

async function readFileText(path: string, where: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`${where}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** Rendley's body from an argument: inline JSON, `@path`, or `-` (stdin): the `export` and `export-cost` commands. */
export async function argumentBody(ctx: CliContext, value: string): Promise<Record<string, unknown>> {
  if (value === "-") return jsonBody(await readStdin(ctx), "<body>");
  if (value.startsWith("@")) return jsonBody(await readFileText(value.slice(1), "<body>"), "<body>");
  return jsonBody(value, "<body>");
}

/** Rendley's body from `--body <json>` or `--body-file <path>` (`-`: stdin). */
async function optionBody(ctx: CliContext, o: BodyOptions): Promise<Record<string, unknown>> {
  if (o.body !== undefined) return jsonBody(o.body, "--body");
  if (o.bodyFile === undefined) throw new UsageError("Rendley's body is missing: give --body <json> or --body-file <path>");
  const text = o.bodyFile === "-" ? await readStdin(ctx) : await readFileText(o.bodyFile, "--body-file");
  return jsonBody(text, "--body-file");
}

/** Prints a started job: its watch as text, or `{job_id, watch}` with --json. */
export function printStarted(ctx: CliContext, started: StartedJob, json: boolean | undefined): void {
  if (json) printJson(ctx, started);
  else print(ctx, formatWatch(started.watch));
}

/** Prints Rendley's price: always JSON, as Rendley answered it. */
export const printCost = (ctx: CliContext, answer: CostAnswer) => printJson(ctx, answer);

function withBodyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--body <json>", "Rendley's body, a JSON object").conflicts("bodyFile"))
    .option("--body-file <path>", "read Rendley's body from a file (- for stdin)");
}

type StartOptions = Common & BodyOptions & Omit<WatchFieldOptions, "callback"> & { callbackUrl?: string; callback?: string };

/**
 * `start <target>` (start a Rendley job and watch it in one call) and `cost <target>` (Rendley's price for it):
 * targets `export`, `ai/<action>` and (start only) `agent`, Rendley's body in `--body` or `--body-file`.
 */
export function startCommands(ctx: CliContext): Command[] {
  const start = withBodyOptions(
    withTenantOptions(
      new Command("start")
        .description("start a Rendley job (export, AI tool or agent) with the tenant's Rendley key and watch it in one call")
        .argument("<target>", TARGETS_HELP, (v: string) => parseTarget(v)),
    ),
  )
    .option("--callback-url <url>", "where the relay POSTs the callbacks (required)")
    .addOption(new Option("--callback <url>").hideHelp().conflicts("callbackUrl"))
    .option("--event <event>", `an event to subscribe to, repeatable or comma-separated (${EVENTS.join(", ")})`, collectEvents)
    .option("--metadata <json>", "a JSON object echoed in every callback", metadataObject)
    .option("--retry-schedule <delays>", "the watch's own delays between attempts, e.g. 10s,1m,10m (or none)")
    .option("--idempotency-key <key>", "repeating it with the same body returns the same job and watch", idempotencyKey)
    .addHelpText("after", START_EXAMPLES)
    .action(async (target: StartTarget, o: StartOptions) => {
      const callback = o.callbackUrl ?? o.callback;
      if (callback === undefined) throw new UsageError("required option '--callback-url <url>' not specified");
      const body = { ...(await optionBody(ctx, o)), ...watchFields({ ...o, callback }) };
      printStarted(ctx, await startAt(tenantClient(ctx, o), target, body, o.idempotencyKey), o.json);
    });

  const cost = withBodyOptions(
    withTenantOptions(
      new Command("cost")
        .description("Rendley's price for an export or an AI job, as Rendley answers it (nothing starts)")
        .argument("<target>", "export or ai/<action>", (v: string) => parseTarget(v, { cost: true })),
    ),
  ).action(async (target: Exclude<StartTarget, { kind: "agent" }>, o: Common & BodyOptions) => {
    printCost(ctx, await costAt(tenantClient(ctx, o), target, await optionBody(ctx, o)));
  });

  return [start, cost];
}
