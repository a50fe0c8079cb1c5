import { loadConfig } from "./config.js";
import { ConfigError, coerceError } from "./errors.js";
import { createLogger } from "./lib/logger.js";
import { startRelay } from "./relay.js";

/** `npm start`: reads the environment once, starts the relay, and stops it cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rendley-relay: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const abortStart = new AbortController();
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  let stopping = false;

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    abortStart.abort();
    // Hard stop if something hangs: the promise is to exit within 10 s.
    setTimeout(() => {
      logger.error("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, 9_500).unref();
    void (relay?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: { message: coerceError(err).message } }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  try {
    relay = await startRelay(config, { logger, signal: abortStart.signal });
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`rendley-relay: could not start: ${coerceError(err).message}\n`);
    process.exit(1);
  }
  if (stopping) {
    await relay.stop();
    process.exit(0);
  }
  if (relay.generatedApiKey) {
    // Shown once, on stderr and outside the JSON logs: only its hash is stored.
    process.stderr.write(
      `\nGenerated a relay API key (shown once, stored only as a hash):\n\n  RELAY_API_KEY=${relay.generatedApiKey}\n\n` +
        "Send it as `Authorization: Bearer <key>`. Set RELAY_API_KEY yourself to choose the key.\n\n",
    );
  }
  process.stderr.write(`rendley-relay listening on ${relay.url} (${relay.deps.db.kind})\n`);
}

void main();
