import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e suites start real processes and bind ports: keep files in separate processes, a few at a time.
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
