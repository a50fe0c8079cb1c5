/**
 * The process's environment: the one place it is read. `loadConfig` (config.ts) parses it; the entry points
 * (`npm start`, the `rendley-relay` CLI) take it from here and hand it down.
 */
export const processEnv = (): Record<string, string | undefined> => process.env;
