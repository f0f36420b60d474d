/**
 * Without MySQL, `npm test` names each suite it skips and what that suite needs; under CI=true
 * a missing MySQL fails instead. Runs vitest itself, on one small MySQL suite, with MySQL made
 * unreachable (port 1).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";

const run = promisify(execFile);
const UNREACHABLE = "mysql://root@127.0.0.1:1/test";
const UNREACHABLE_POSTGRES = "postgres://postgres@127.0.0.1:1/postgres";

async function vitest(
  env: Record<string, string>,
  file = "test/store/test-database.test.ts",
): Promise<{ code: number; output: string }> {
  // The child is a run of its own: nothing of this run's workers, nor a CI flag, leaks into it.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && k !== "CI"),
  );
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["node_modules/vitest/vitest.mjs", "run", file],
      {
        cwd: repoRoot,
        env: { ...inherited, METRONOME_TEST_MYSQL_URL: UNREACHABLE, NO_COLOR: "1", ...env },
      },
    );
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe("suites that need MySQL, without it", () => {
  it("are skipped, each named with what it needs and how to get it", async () => {
    const { code, output } = await vitest({});
    expect(code).toBe(0);
    const lines = output.split("\n").filter((l) => l.startsWith("skipped "));
    expect(lines).toEqual([
      "skipped test/store/test-database.test.ts › a test file's own MySQL database: needs " +
        "MySQL/MariaDB at mysql://root@127.0.0.1:1 (set METRONOME_TEST_MYSQL_URL, or start " +
        "MariaDB: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)",
    ]);
  }, 60_000);

  it("fail the run under CI=true", async () => {
    const { code, output } = await vitest({ CI: "true" });
    expect(code).not.toBe(0);
    expect(output).toContain(
      "CI=true: this test file needs MySQL/MariaDB at mysql://root@127.0.0.1:1",
    );
  }, 60_000);
});

describe("suites that need PostgreSQL, without it", () => {
  const file = "test/store/postgres-changes.test.ts";
  const env = { METRONOME_TEST_POSTGRES_URL: UNREACHABLE_POSTGRES };

  it("are skipped, each named with what it needs and how to get it", async () => {
    const { code, output } = await vitest(env, file);
    expect(code).toBe(0);
    const lines = output.split("\n").filter((l) => l.startsWith("skipped "));
    expect(lines).toEqual([
      `skipped ${file} › PostgreSQL change notices between nodes: needs PostgreSQL at ` +
        "postgres://postgres@127.0.0.1:1 (set METRONOME_TEST_POSTGRES_URL, or start " +
        "PostgreSQL: pg_ctlcluster 15 main start)",
    ]);
  }, 60_000);

  it("fail the run under CI=true", async () => {
    const { code, output } = await vitest({ ...env, CI: "true" }, file);
    expect(code).not.toBe(0);
    expect(output).toContain(
      "CI=true: this test file needs PostgreSQL at postgres://postgres@127.0.0.1:1",
    );
  }, 60_000);
});

describe("suites that need Redis, without it", () => {
  const file = "test/store/redis-store.test.ts";
  const env = { METRONOME_TEST_REDIS_URL: "redis://127.0.0.1:1/0" };

  it("are skipped, each named with what it needs and how to get it", async () => {
    const { code, output } = await vitest(env, file);
    expect(code).toBe(0);
    const lines = output.split("\n").filter((l) => l.startsWith("skipped "));
    expect(lines).toEqual([
      `skipped ${file} › Redis: needs Redis 7 at redis://127.0.0.1:1 (set ` +
        "METRONOME_TEST_REDIS_URL, or start Redis: redis-server --daemonize yes)",
    ]);
  }, 60_000);

  it("fail the run under CI=true", async () => {
    const { code, output } = await vitest({ ...env, CI: "true" }, file);
    expect(code).not.toBe(0);
    expect(output).toContain("CI=true: this test file needs Redis 7 at redis://127.0.0.1:1");
  }, 60_000);
});
