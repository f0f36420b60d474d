/**
 * The list commands as processes against a `metronome serve` process whose largest page is
 * smaller than the pages they ask for (METRONOME_MAX_PAGE_SIZE=200; they ask for 500): every
 * job, run and scheduler is listed, page after page. `jobs list` says on stderr when its
 * --limit (1,000 by default) cut the list, and `runs list` when its default 50 did; a reader
 * that stops early (`| head -1`) ends the command quietly, without a stack; and `serve` against a
 * MySQL nobody listens on says why and where, without the URL's password.
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

function collect(child: ReturnType<typeof spawn>): Promise<Result> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

const state = { url: "" };

/** `metronome ARGS` as a process, against the server of this file. */
function metronome(args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
    cwd: repoRoot,
    env: { ...base, METRONOME_URL: state.url, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collect(child);
}

/** The data rows of a table (its header left out). */
const dataRows = (table: string): string[] => table.trimEnd().split("\n").slice(1);

// Each command is a process (a second or more each on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

/** Long ids: the table of 1,000 jobs is far more than a pipe holds (for `| head -1`). */
const jobId = (i: number) => `job-${String(i).padStart(4, "0")}-${"x".repeat(120)}`;
const trigger = { crontab: { expression: "0 3 * * *" } };

/** A server process on a fresh SQLite store, its URL in `state.url` while its tests run. */
function serverFor(name: string, env: Record<string, string>, seed: () => Promise<void>) {
  let db: TestStore | undefined;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    db = await createSqliteStore(`metronome-${name}`);
    server = await startServerProcess(name, db.url, { env });
    state.url = `http://127.0.0.1:${String(server.port)}`;
    await seed();
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });
}

/** Connect JSON to the server of the running tests. */
async function post(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${state.url}/metronome.v1.${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${String(res.status)} ${await res.text()}`);
  return res.json();
}

/** `count` jobs (ids `jobId(0…)`), added 1,000 at a time. */
async function addJobs(count: number): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    const ids = Array.from({ length: Math.min(1000, count - from) }, (_, k) => jobId(from + k));
    await post("JobService/AddJobs", {
      jobs: ids.map((id) => ({ id, handler: "limits.noop", trigger })),
    });
  }
}

/** `count` manual runs of `jobId(0)`: pending, as no worker serves them. */
async function addRuns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await post("JobService/RunJobNow", { jobId: jobId(0) });
}

describe("list commands against a server whose largest page is 200 (they ask for 500)", () => {
  const JOBS = 450;
  const RUNS = 5;
  const SCHEDULERS = 250;
  serverFor("cli-max-page", { METRONOME_MAX_PAGE_SIZE: "200" }, async () => {
    await addJobs(JOBS);
    await addRuns(RUNS);
    // `default` exists already: it holds the jobs.
    for (let i = 0; i < SCHEDULERS - 1; i++)
      await post("SchedulerService/ConfigureScheduler", {
        name: `sched-${String(i).padStart(3, "0")}`,
      });
  });

  it("jobs list reads every page", async () => {
    const r = await metronome(["jobs", "list"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(dataRows(r.stdout).map((row) => row.split(/ {2,}/)[0])).toEqual(
      Array.from({ length: JOBS }, (_, i) => jobId(i)),
    );
  });

  it("runs list reads every page", async () => {
    const r = await metronome(["runs", "list", "--json"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout)).toHaveLength(RUNS);
  });

  it("schedulers list reads every page", async () => {
    const r = await metronome(["schedulers", "list", "--json"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const names = (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name);
    expect(names).toHaveLength(SCHEDULERS);
    expect(new Set(names).size).toBe(SCHEDULERS);
  });
});

describe("list commands cut by a limit, and read by a reader that stops early", () => {
  const JOBS = 1001;
  const RUNS = 60;
  serverFor("cli-limits", {}, async () => {
    await addJobs(JOBS);
    await addRuns(RUNS);
  });

  it("jobs list says on stderr that its --limit cut the list", async () => {
    const cut = await metronome(["jobs", "list", "--limit", "3"]);
    expect(cut.code).toBe(0);
    expect(dataRows(cut.stdout).map((r) => r.split(/ {2,}/)[0])).toEqual([
      jobId(0),
      jobId(1),
      jobId(2),
    ]);
    expect(cut.stderr).toBe(
      "metronome: note: listed the first 3 jobs; more match (--limit N lists more)\n",
    );

    // The default limit, 1,000, says so too; with --json stdout holds only the jobs.
    const byDefault = await metronome(["jobs", "list", "--json"]);
    expect(byDefault.code).toBe(0);
    expect((JSON.parse(byDefault.stdout) as unknown[]).length).toBe(1000);
    expect(byDefault.stderr).toBe(
      "metronome: note: listed the first 1000 jobs; more match (--limit N lists more)\n",
    );

    // A limit that leaves nothing out says nothing.
    const exact = await metronome(["jobs", "list", "--limit", String(JOBS)]);
    expect(exact).toMatchObject({ code: 0, stderr: "" });
    expect(dataRows(exact.stdout)).toHaveLength(JOBS);
  });

  it("runs list says when its default limit of 50 cut the list; a limit given is kept", async () => {
    const byDefault = await metronome(["runs", "list"]);
    expect(byDefault.code).toBe(0);
    expect(dataRows(byDefault.stdout)).toHaveLength(50);
    expect(byDefault.stderr).toBe(
      "metronome: note: listed the newest 50 runs; older ones match too (--limit N lists more)\n",
    );

    const asked = await metronome(["runs", "list", "--limit", "10"]);
    expect(asked).toMatchObject({ code: 0, stderr: "" });
    expect(dataRows(asked.stdout)).toHaveLength(10);

    const all = await metronome(["runs", "list", "--limit", "1000", "--json"]);
    expect(all).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(all.stdout)).toHaveLength(RUNS);
  });

  it("`jobs list | head -1` ends quietly: exit code 0, no EPIPE stack on stderr", async () => {
    // The command's stderr and exit code, its stdout read by head, which stops after a line
    // (the table is some 200 KB: far more than the pipe and head's first read hold).
    const cli = `"${process.execPath}" --import tsx server/src/cli.ts jobs list --limit 5000`;
    const child = spawn("sh", ["-c", `{ ${cli}; echo "exit code $?" >&2; } | head -1`], {
      cwd: repoRoot,
      env: { ...base, METRONOME_URL: state.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const r = await collect(child);
    expect(r.stdout).toMatch(/^ID +HANDLER +TRIGGER/);
    expect(r.stdout.split("\n")).toHaveLength(2);
    expect(r.stderr).toBe("exit code 0\n");
  });
});

describe("metronome serve against a store it cannot reach", () => {
  it("says why and which store, without the URL's password", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/src/cli.ts", "serve"], {
      cwd: repoRoot,
      env: {
        ...base,
        SCHEDULER__JOBSTORE_URL: "mysql://root:hunter2-secret@127.0.0.1:1/x",
        METRONOME_PORT: "0",
        METRONOME_HOST: "127.0.0.1",
        METRONOME_LOG_LEVEL: "error",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const r = await collect(child);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "metronome: the job store is unavailable (mysql://root:***@127.0.0.1:1/x): connect ECONNREFUSED 127.0.0.1:1\n",
    );
    expect(r.stdout + r.stderr).not.toContain("hunter2-secret");
  });
});
