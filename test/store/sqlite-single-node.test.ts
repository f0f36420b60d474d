/**
 * The SQLite store serves one node (server/src/store/sqlite/node-lock.ts): a second
 * `metronome serve` process on the same file is refused with a message naming the first, which
 * keeps working; in process, a second node is refused until the first stops, a lock left by a
 * process that is gone is taken over, and `metronome migrate` still shares the file. (The lock
 * itself is a kernel lock on `<file>.lock.db`; `<file>.lock` only names its holder. Races between
 * processes and killed holders: sqlite-node-lock.test.ts.)
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteInUseError } from "../../server/src/store/sqlite/node-lock.js";
import { startTestNode } from "../support/node.js";
import { repoRoot } from "../support/paths.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const pathOf = (url: string): string => url.slice("sqlite:///".length);

/** Runs `metronome <args>` to its end: exit code and stderr. */
function metronome(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => (stderr += c));
    child.once("exit", (code) => {
      resolve({ code, stderr });
    });
  });
}

describe("a second node on one SQLite file", () => {
  let db: TestStore | undefined;
  let first: ServerProcess | undefined;

  beforeAll(async () => {
    db = await createSqliteStore("metronome-single-node");
    first = await startServerProcess("sqlite-first", db.url);
  }, 60_000);

  afterAll(async () => {
    await first?.stop();
    await db?.drop();
  }, 30_000);

  it("is refused with a message naming the node that serves it; the first keeps working", async () => {
    const url = (db as TestStore).url;
    const a = first as ServerProcess;
    expect(existsSync(`${pathOf(url)}.lock`)).toBe(true);
    const second = await metronome(["serve", "--port", "0", "--store", url, "--node-id", "b"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `metronome: the SQLite database ${pathOf(url)} is in use by another Metronome node (pid ${String(a.pid)} on `,
    );
    expect(second.stderr).toContain("use MySQL or PostgreSQL to run several");

    // The first node still serves: ready, and it takes a job.
    const base = `http://127.0.0.1:${String(a.port)}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const res = await fetch(`${base}/metronome.v1.JobService/AddJob`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        job: { id: "still-here", handler: "h", trigger: { interval: { seconds: 60 } } },
      }),
    });
    expect(res.status).toBe(200);
    expect(a.running()).toBe(true);

    // A tool shares the file: migrate takes no lock.
    expect((await metronome(["migrate", "--store", url])).code).toBe(0);
  }, 60_000);
});

describe("the node lock in process", () => {
  let db: TestStore | undefined;

  beforeAll(async () => {
    db = await createSqliteStore("metronome-node-lock");
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("refuses a second node until the first stops, and takes over a lock whose process is gone", async () => {
    const url = (db as TestStore).url;
    const lockFile = `${pathOf(url)}.lock`;
    const one = await startTestNode(url);
    const refused = await startTestNode(url).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(SqliteInUseError);
    expect((refused as SqliteInUseError).holder?.pid).toBe(process.pid);
    await one.stop();
    expect(existsSync(lockFile)).toBe(false);

    // A node killed without stopping leaves its information file (its lock went with it).
    const gone = spawn(process.execPath, ["-e", ""]);
    const pid = gone.pid ?? -1;
    await new Promise((r) => gone.once("exit", r));
    writeFileSync(lockFile, JSON.stringify({ pid, host: hostname(), since: "then" }));
    const two = await startTestNode(url);
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: process.pid });
    await two.stop();
    expect(existsSync(lockFile)).toBe(false);

    // Information naming this process's pid, which this process does not hold: an earlier
    // process with the same pid (a container's PID 1 restarted) left it.
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: hostname(), since: "then" }));
    const three = await startTestNode(url);
    await three.stop();
    expect(existsSync(lockFile)).toBe(false);
    // The lock's own file stays: removing it could let two nodes lock two different files.
    expect(existsSync(`${lockFile}.db`)).toBe(true);
  }, 30_000);
});
