/**
 * `metronome jobs get` shows the trigger's start date, end date and jitter when the trigger has
 * them, as lines of its own beside the other fields (and not when it has none); `--json` holds
 * them as the API returns them. The commands run as processes against a `metronome serve`
 * process on a fresh SQLite store.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { repoRoot } from "../support/paths.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Configuration from the caller's environment must not reach the commands under test. */
const base = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith("METRONOME_") && !k.startsWith("SCHEDULER__"),
  ),
);

const state = { url: "" };

/** `metronome ARGS` as a process, against the server of this file. */
function metronome(args: readonly string[]): Promise<Result> {
  const child = spawn(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
    cwd: repoRoot,
    env: { ...base, METRONOME_URL: state.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Succeeds with exit code 0 and nothing on stderr; answers stdout. */
async function ok(args: readonly string[]): Promise<string> {
  const r = await metronome(args);
  expect(r, `metronome ${args.join(" ")}`).toMatchObject({ code: 0, stderr: "" });
  return r.stdout;
}

/** The `label: value` lines of `jobs get`'s table, before its runs. */
function fieldsOf(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([a-z ]+): +(.*)$/.exec(line);
    if (m !== null) fields.set(m[1] ?? "", m[2] ?? "");
  }
  return fields;
}

// Each command is a process (a second or more each on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe("metronome jobs get: the trigger's start date, end date and jitter", () => {
  let db: TestStore | undefined;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    db = await createSqliteStore("metronome-cli-trigger-range");
    server = await startServerProcess("cli-trigger-range", db.url);
    state.url = `http://127.0.0.1:${String(server.port)}`;
    await ok([
      "jobs",
      "add",
      "range.job",
      "--id",
      "ranged",
      "--interval",
      "1h",
      "--start-date",
      "2030-01-01T00:00:00Z",
      "--end-date",
      "2031-06-30T12:30:00Z",
      "--jitter",
      "1500ms",
    ]);
    await ok([
      "jobs",
      "add",
      "range.job",
      "--id",
      "jittered",
      "--crontab",
      "0 2 * * *",
      "--jitter",
      "30s",
      "--end-date",
      "2032-12-31T23:59:59Z",
    ]);
    await ok(["jobs", "add", "range.job", "--id", "plain", "--cron", "hour=2,minute=30"]);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("shows each one that is set, in the style of the other fields", async () => {
    const ranged = await ok(["jobs", "get", "ranged", "--runs", "0"]);
    const fields = fieldsOf(ranged);
    expect(fields.get("trigger")).toBe("every 1h");
    expect(fields.get("start date")).toBe("2030-01-01T00:00:00Z");
    expect(fields.get("end date")).toBe("2031-06-30T12:30:00Z");
    expect(fields.get("jitter")).toBe("1.5s");
    // Labels aligned with the others: every value starts in the same column.
    const columns = new Set(
      ranged
        .trimEnd()
        .split("\n")
        .map((line) => /^[a-z ]+: +/.exec(line)?.[0].length),
    );
    expect(columns.size).toBe(1);
    // In the order of a trigger's description: right after the trigger.
    const labels = [...fields.keys()];
    expect(labels.slice(labels.indexOf("trigger"), labels.indexOf("trigger") + 4)).toEqual([
      "trigger",
      "start date",
      "end date",
      "jitter",
    ]);

    const jittered = fieldsOf(await ok(["jobs", "get", "jittered", "--runs", "0"]));
    expect(jittered.get("trigger")).toMatch(/^crontab '0 2 \* \* \*'/);
    expect(jittered.has("start date")).toBe(false);
    expect(jittered.get("end date")).toBe("2032-12-31T23:59:59Z");
    expect(jittered.get("jitter")).toBe("30s");
  });

  it("shows none of them when the trigger has none", async () => {
    const fields = fieldsOf(await ok(["jobs", "get", "plain", "--runs", "0"]));
    expect(fields.get("trigger")).toMatch(/^cron hour=2 minute=30/);
    expect(
      [...fields.keys()].filter((k) => ["start date", "end date", "jitter"].includes(k)),
    ).toEqual([]);
  });

  it("--json holds them as the API returns them", async () => {
    const got = JSON.parse(await ok(["jobs", "get", "ranged", "--runs", "0", "--json"])) as {
      job: { trigger: unknown };
      runs: unknown[];
    };
    expect(got.job.trigger).toMatchObject({
      interval: {
        seconds: 3600,
        startDate: "2030-01-01T00:00:00Z",
        endDate: "2031-06-30T12:30:00Z",
      },
      jitter: "1.500s",
    });
    expect(got.runs).toEqual([]);
  });
});
