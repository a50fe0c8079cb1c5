import { Command, CommanderError } from "commander";
import type { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { RelayError } from "../client/index.js";
import { processEnv } from "../environment.js";
import { VERSION } from "../version.js";
import { adminCommand } from "./admin.js";
import { DEFAULT_RELAY_URL, type CliContext } from "./context.js";
import { deliveryCommands } from "./deliveries.js";
import { exportCommands } from "./export.js";
import { migrateCommand } from "./migrate.js";
import { serveCommand } from "./serve.js";
import { startCommands } from "./start.js";
import { subscriptionsCommand } from "./subscriptions.js";
import { UsageError } from "./usage-error.js";
import { watchCommands } from "./watches.js";

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3 } as const;

const HELP_AFTER = `
Environment:
  RELAY_URL        the relay's base URL (default ${DEFAULT_RELAY_URL})
  RELAY_API_KEY    a tenant's relay API key (tenant commands)
  RELAY_ADMIN_KEY  the relay's admin key (admin commands)

Exit codes: 0 ok, 1 the API refused (error <code>: <message> on stderr), 2 usage error, 3 the relay cannot be reached.`;

/** Settings every command of the tree needs: errors thrown instead of exiting, output to the given streams. */
function configureTree(cmd: Command, ctx: CliContext): void {
  const width = (stream: Writable) => (stream as { columns?: number }).columns ?? 100;
  cmd
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
      getOutHelpWidth: () => width(ctx.stdout),
      getErrHelpWidth: () => width(ctx.stderr),
    });
  for (const sub of cmd.commands) configureTree(sub, ctx);
}

function buildProgram(ctx: CliContext): Command {
  const program = new Command("rendley-relay")
    .description("rendley-relay: watches Rendley jobs and delivers signed Standard Webhooks callbacks")
    .version(VERSION, "-V, --version")
    .addHelpText("after", HELP_AFTER);
  program.addCommand(serveCommand(ctx));
  program.addCommand(migrateCommand(ctx));
  for (const cmd of watchCommands(ctx)) program.addCommand(cmd);
  for (const cmd of startCommands(ctx)) program.addCommand(cmd);
  for (const cmd of exportCommands(ctx)) program.addCommand(cmd);
  program.addCommand(subscriptionsCommand(ctx));
  for (const cmd of deliveryCommands(ctx)) program.addCommand(cmd);
  program.addCommand(adminCommand(ctx));
  configureTree(program, ctx);
  return program;
}

/**
 * Runs the `rendley-relay` command line and resolves with its exit code (it never exits the process).
 * @param argv the arguments after the program name (`["list", "--json"]`)
 * @param io streams, environment and fetch; default: the process's own
 */
export async function runCli(
  argv: string[],
  io: {
    stdout?: Writable;
    stderr?: Writable;
    stdin?: Readable;
    env?: Record<string, string | undefined>;
    fetch?: typeof fetch;
  } = {},
): Promise<number> {
  const ctx: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? processEnv(),
    fetch: io.fetch ?? globalThis.fetch,
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode ?? EXIT.ok;
  } catch (err) {
    // Commander has already printed its message (or the help, or the version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof UsageError) {
      ctx.stderr.write(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof RelayError) {
      ctx.stderr.write(`error ${err.code}: ${err.message}\n`);
      for (const d of err.details ?? []) ctx.stderr.write(`  ${d.path}: ${d.message}\n`);
      return err.code === "network_error" ? EXIT.unreachable : EXIT.apiError;
    }
    ctx.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.apiError;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Exit once what was written has been flushed (pipes can be asynchronous).
  void runCli(process.argv.slice(2)).then((code) =>
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code))),
  );
}
