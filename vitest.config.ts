import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The browser test needs Chromium: `npm run test:browser` (vitest.browser.config.ts), run by .ci/run.
    exclude: ["test/browser/**", "**/node_modules/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: more workers only add contention between PGlite instances.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
