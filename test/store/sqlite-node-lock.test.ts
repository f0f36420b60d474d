/**
 * The SQLite node lock between processes (server/src/store/sqlite/node-lock.ts): two processes
 * asking for it at the same instant, over a lock left by a killed holder, never both get it; and
 * a holder killed with SIGKILL frees it at once, even while its pid still names a process.
 *
 * The lock is a kernel lock (SQLite's, on `<file>.lock.db`), released when its process ends, so
 * no decision depends on a pid any more: whether a recorded pid is alive, dead, reused by another
 * process or the same as ours (two containers sharing a host name and a volume, each running the
 * node as PID 1) changes nothing. That is why these tests need no fresh PID namespace: the
 * second one keeps the killed holder's pid taken (a zombie its parent never reaps, what a reused
 * pid looks like to a pid check) and the next process takes the lock all the same. Every wait is
 * on a process's answer or exit, no sleep.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";

/**
 * A contender: takes the lock when told `take <at>` (at `at`, epoch milliseconds with fractions,
 * waiting for it in a busy loop to start within microseconds of it), or at once with `hold`;
 * answers `won <pid>` or `refused` (or `error …`) on stdout, and keeps what it took until it exits.
 */
const CONTENDER = `
import { createInterface } from "node:readline";
const { NodeLock } = await import(process.env.NODE_LOCK_MODULE);
const [path, mode] = process.argv.slice(2);
let lock = null;
function take() {
  try {
    lock = NodeLock.take(path);
    console.log("won " + process.pid);
  } catch (err) {
    console.log(err?.name === "SqliteInUseError" ? "refused" : "error " + String(err?.message ?? err));
  }
}
if (mode === "hold") {
  take();
  setInterval(() => undefined, 1 << 30);
} else {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const [word, at] = line.split(" ");
    if (word !== "take") return;
    while (performance.timeOrigin + performance.now() < Number(at ?? 0));
    take();
  });
  lines.on("close", () => process.exit(0));
  console.log("ready");
}
`;

/** The lines a stream gives, one at a time. */
function lineReader(stream: Readable): () => Promise<string> {
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  const rl = createInterface({ input: stream });
  rl.on("line", (line) => {
    const w = waiting.shift();
    if (w === undefined) lines.push(line);
    else w(line);
  });
  rl.on("close", () => {
    for (const w of waiting.splice(0)) w("<closed>");
  });
  return () => {
    const line = lines.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((r) => waiting.push(r));
  };
}

/** Races of two processes, and the growth of the lag between their starts from one to the next. */
const TRIALS = 20;
const LAG_STEP_MS = 0.02;

interface Contender {
  readonly child: ChildProcess;
  readonly next: () => Promise<string>;
  readonly exited: Promise<unknown>;
}

describe("the SQLite node lock between processes", () => {
  let dir = "";
  let script = "";
  let path = "";
  const children = new Set<ChildProcess>();

  const env = {
    ...process.env,
    NODE_LOCK_MODULE: pathToFileURL(resolve(repoRoot, "server/src/store/sqlite/node-lock.ts")).href,
  };

  /** A contender process, once it is ready for `take`. */
  async function contender(): Promise<Contender> {
    const child = spawn(process.execPath, ["--import", "tsx", script, path], {
      cwd: repoRoot,
      env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    children.add(child);
    const exited = new Promise((r) => child.once("exit", r));
    const next = lineReader(child.stdout);
    expect(await next()).toBe("ready");
    return { child, next, exited };
  }

  async function kill(c: Contender): Promise<void> {
    c.child.kill("SIGKILL");
    await c.exited;
    children.delete(c.child);
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "metronome-node-lock-"));
    script = join(dir, "contender.mjs");
    writeFileSync(script, CONTENDER);
  });

  afterAll(() => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("two processes asking at the same instant over a killed holder's lock: exactly one wins, every time", async () => {
    path = join(dir, "race.db");
    // A holder killed without releasing: the first trial starts from its lock.
    const first = await contender();
    first.child.stdin?.write("take 0\n");
    expect(await first.next()).toMatch(/^won /);
    await kill(first);

    let pair: Contender[] = await Promise.all([contender(), contender()]);
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      // Both start at the same instant but for a lag that grows trial by trial (either one
      // first): they race for the lock the previous winner left when it was killed.
      const at = performance.timeOrigin + performance.now() + 40;
      const lag = (trial >> 1) * LAG_STEP_MS;
      pair[0]?.child.stdin?.write(`take ${String(trial % 2 === 0 ? at : at + lag)}\n`);
      pair[1]?.child.stdin?.write(`take ${String(trial % 2 === 0 ? at + lag : at)}\n`);
      const answers = await Promise.all(pair.map((c) => c.next()));
      outcomes.push(answers.map((a) => a.split(" ")[0]).join("/"));
      const winners = pair.filter((_, i) => answers[i]?.startsWith("won ") === true);
      const others = pair.filter((_, i) => answers[i]?.startsWith("won ") !== true);
      if (winners.length === 1) {
        // The lock's information names the winner.
        const info = JSON.parse(readFileSync(`${path}.lock`, "utf8")) as { pid: number };
        expect(info.pid).toBe(winners[0]?.child.pid);
      }
      // Every winner is killed holding the lock; the others and fresh processes race next.
      const fresh = await Promise.all([
        ...winners.map(() => contender()),
        ...winners.map(async (w) => {
          await kill(w);
          return null;
        }),
      ]);
      pair = [...others, ...fresh.filter((c) => c !== null)];
    }
    // Each trial's answers, the pair's order: exactly one "won", the other "refused".
    const wrong = outcomes
      .map((o, trial) => `trial ${String(trial)}: ${o}`)
      .filter((o) => !/: (won\/refused|refused\/won)$/.test(o));
    expect(wrong).toEqual([]);
    for (const c of pair) await kill(c);
  }, 120_000);

  it("a holder killed with SIGKILL frees the lock at once, though its pid still names a process", async () => {
    path = join(dir, "killed.db");
    // The holder's parent is `sleep`, which never reaps it: killed, it stays a zombie with its
    // pid. Its answer comes on fd 3, which only it holds, so the end of fd 3 is its exit.
    const parent = spawn(
      "sh",
      [
        "-c",
        `"$0" --import tsx "$1" "$2" hold 1>&3 3>&- </dev/null & echo "$!"; exec sleep 600 3>&-`,
        process.execPath,
        script,
        path,
      ],
      { cwd: repoRoot, env, stdio: ["ignore", "pipe", "inherit", "pipe"] },
    );
    children.add(parent);
    try {
      const holderOut = parent.stdio[3] as Readable;
      const holderEnded = new Promise((r) => holderOut.once("close", r));
      const answer = lineReader(holderOut);
      const won = await answer();
      expect(won).toMatch(/^won \d+$/);
      const pid = Number(won.split(" ")[1]);
      process.kill(pid, "SIGKILL");
      await holderEnded;
      const next = await contender();
      // Gone, but its pid is still there (a zombie): to a pid check, a live holder.
      expect(readFileSync(`/proc/${String(pid)}/stat`, "utf8")).toMatch(/^\d+ \(.*\) Z /);
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(JSON.parse(readFileSync(`${path}.lock`, "utf8"))).toMatchObject({ pid });

      next.child.stdin?.write("take 0\n");
      expect(await next.next()).toBe(`won ${String(next.child.pid)}`);
      await kill(next);
    } finally {
      parent.kill("SIGKILL");
      children.delete(parent);
    }
  }, 60_000);
});
