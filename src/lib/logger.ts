import { pino, type Logger, type DestinationStream, type Level } from "pino";
import { build as prettyStream } from "pino-pretty";

export type { Logger } from "pino";

/** A line logged by a logger that has no `component` of its own (startup, shutdown) gets this one. */
export const DEFAULT_COMPONENT = "relay";

/**
 * JSON-lines logger. Every line has a `component` (the child logger's, else `relay`); lines about an API request
 * carry its `requestId` explicitly (no AsyncLocalStorage: on Node 20 it turns on promise hooks for the whole
 * process, which made every await of the scheduler and the delivery worker ~3× dearer). Secrets are kept out by construction (nothing logs config values or
 * request headers); `redact` is the second line of defence for fields that might carry one.
 * @param options.level minimum level (default `info`)
 * @param options.destination where lines go (default stdout); tests pass a stream to capture output.
 * @param options.pretty human-readable lines instead of JSON, coloured when the terminal supports it (default
 *   false; the entry point turns it on for a terminal). Ignored when `destination` is given.
 */
export function createLogger(
  options: { level?: Level | "silent"; destination?: DestinationStream; pretty?: boolean } = {},
): Logger {
  const destination =
    options.destination ??
    (options.pretty ? prettyStream({ translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" }) : undefined);
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "rendley-relay" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin(mergeObject, _level, instance) {
        const extra: Record<string, string> = {};
        // A child's bindings are a pre-serialised string: checking it costs no parse, and never duplicates the key.
        const bindings = (instance as unknown as Record<symbol, string | undefined>)[pino.symbols.chindingsSym] ?? "";
        if (!("component" in mergeObject) && !bindings.includes('"component":')) extra.component = DEFAULT_COMPONENT;
        return extra;
      },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          "*.headers.authorization",
          "apiKey",
          "*.apiKey",
          "secret",
          "*.secret",
          "signingSecret",
          "*.signingSecret",
          "token",
          "*.token",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
