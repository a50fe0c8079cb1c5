import { Command } from "commander";
import type { Writable } from "node:stream";
import type { CliContext } from "./context.js";
import { errorForLog } from "../lib/error-for-log.js";

/**
 * How long a stop may take once the listener closes before the process exits anyway (the promise: exit
 * within 10 s of a signal, plus SHUTDOWN_UNREADY_MS).
 */
const HARD_STOP_MS = 9_500;

/**
 * Runs the relay until SIGTERM/SIGINT: reads the configuration, starts the relay, prints the one-time key
 * banner, stops cleanly on a signal. Resolves with the exit code: 0 after a clean stop, 1 when it cannot
 * start or stopping fails, 2 for an invalid configuration. The server's modules load only here.
 */
export async function runServe(env: Record<string, string | undefined>, io: { stderr: Writable }): Promise<number> {
  const [{ loadConfig }, { ConfigError }, { coerceError }, { createLogger }, { startRelay }] = await Promise.all([
    import("../config.js"),
    import("../errors.js"),
    import("../lib/error-for-log.js"),
    import("../lib/logger.js"),
    import("../relay.js"),
  ]);
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`rendley-relay: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // JSON lines for collectors; colour lines for a person at a terminal (LOG_FORMAT overrides either way).
  const logger = createLogger({
    level: config.logLevel,
    pretty: (config.logFormat ?? (process.stdout.isTTY ? "pretty" : "json")) === "pretty",
  });
  const abortStart = new AbortController();
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  let stopping = false;
  let finish!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (finish = resolve));

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    abortStart.abort();
    // Hard stop if something hangs: the promise is to exit within 10 s of the listener closing. Only a
    // relay that listens waits SHUTDOWN_UNREADY_MS with /readyz at 503 before it closes.
    const unreadyMs = relay ? config.shutdownUnreadyMs : 0;
    setTimeout(() => {
      logger.error("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, HARD_STOP_MS + unreadyMs).unref();
    void (relay?.stop({ unreadyMs }) ?? Promise.resolve()).then(
      () => finish(0),
      (err) => {
        logger.error({ err: errorForLog(err) }, "error while stopping");
        finish(1);
      },
    );
  };
  const onSigterm = () => shutdown("SIGTERM");
  const onSigint = () => shutdown("SIGINT");
  process.on("SIGTERM", onSigterm);
  process.on("SIGINT", onSigint);

  const run = async (): Promise<number> => {
    try {
      relay = await startRelay(config, { logger, signal: abortStart.signal });
    } catch (err) {
      if (stopping) return stopped;
      io.stderr.write(`rendley-relay: could not start: ${coerceError(err).message}\n`);
      return 1;
    }
    if (stopping) {
      // The signal came while starting: stop what just started.
      return relay.stop().then(
        () => 0,
        () => 1,
      );
    }
    if (relay.generatedApiKey) {
      // Shown once, on stderr and outside the JSON logs: only its hash is stored.
      io.stderr.write(
        `\nGenerated a relay API key (shown once, stored only as a hash):\n\n  RELAY_API_KEY=${relay.generatedApiKey}\n\n` +
          "Send it as `Authorization: Bearer <key>`. Set RELAY_API_KEY yourself to choose the key.\n\n",
      );
    }
    io.stderr.write(`rendley-relay listening on ${relay.url} (${relay.deps.db.kind})\n`);
    return stopped;
  };
  try {
    // A signal during the start ends the command at once, as before the relay listens there is nothing to drain.
    return await Promise.race([run(), stopped]);
  } finally {
    process.off("SIGTERM", onSigterm);
    process.off("SIGINT", onSigint);
  }
}

export function serveCommand(ctx: CliContext): Command {
  return new Command("serve")
    .description("run the relay (configured by the environment, see README: Configuration); stops on SIGTERM/SIGINT")
    .action(async () => {
      ctx.exitCode = await runServe(ctx.env, { stderr: ctx.stderr });
    });
}
