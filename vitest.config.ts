import { defineConfig } from "vitest/config";

export default defineConfig({
  // `@metronome/sdk` resolves to the SDK's source through tsconfig.json's paths, as it does for
  // tsc and tsx: tests use the package by its name without building it first.
  resolve: { tsconfigPaths: true },
  test: {
    include: ["test/**/*.test.ts"],
    // The default output, then one line per suite skipped for a missing requirement (MySQL,
    // Python's grpc) saying what it needs.
    reporters: ["default", "./test/support/skip-reporter.ts"],
    // The dashboard is built (when missing or stale) once, before every file.
    globalSetup: ["./test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file runs in its own worker process, with its own database where it needs one.
    pool: "forks",
  },
});
