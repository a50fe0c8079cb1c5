import { defineConfig } from "vitest/config";

/** `npm run test:browser`: the dashboard driven by Debian's Chromium through playwright-core (`.ci/run` installs it). */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
  },
});
