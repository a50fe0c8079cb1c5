import { pino, type Logger, type DestinationStream, type Level } from "pino";

export type { Logger } from "pino";

/**
 * JSON-lines logger. Secrets are kept out by construction (nothing logs config values or
 * request headers); `redact` is the second line of defence for fields that might carry one.
 * @param options.level minimum level (default `info`)
 * @param options.destination where lines go (default stdout); tests pass a stream to capture output.
 */
export function createLogger(options: { level?: Level | "silent"; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "rendley-relay" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
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
        ],
        censor: "[redacted]",
      },
    },
    options.destination,
  );
}
