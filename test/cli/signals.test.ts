/**
 * `npm start` stopped as a terminal and as a process manager stop it. A terminal's Ctrl-C sends
 * SIGINT to every process of the foreground group: npm, and the server, which then also gets the
 * copy npm forwards. A process manager signals npm alone. Either way the server stops once, exits
 * 0, leaves no process behind, and says which runs it waits for.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { DUPLICATE_SIGNAL_MS } from "../../server/src/main.js";
import { IntervalTrigger, MetronomeClient, Worker } from "@metronome/sdk";
import {
  alive,
  cleanEnv,
  groupGone,
  startLogged,
  type LogEntry,
  type LoggedProcess,
} from "../support/logged-process.js";

const dir = mkdtempSync(join(tmpdir(), "metronome-signals-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let starts = 0;

/** `npm start` on a fresh SQLite file and port 0, as a terminal would run it. */
function npmStart(env: Record<string, string> = {}): LoggedProcess {
  starts++;
  return startLogged(
    "npm",
    ["start"],
    cleanEnv({
      METRONOME_HOST: "127.0.0.1",
      METRONOME_PORT: "0",
      SCHEDULER__JOBSTORE_URL: `sqlite:///${join(dir, `m${String(starts)}.db`)}`,
      ...env,
    }),
  );
}

const listening = (e: LogEntry): boolean => e.msg === "metronome listening";

/** Starts `npm start`, waits for its listening line, sends `signal` to `target`; the outcome. */
async function startAndStop(target: "group" | "npm", signal: NodeJS.Signals) {
  const p = npmStart();
  try {
    const line = await p.waitFor(listening);
    const serverPid = line.pid as number;
    process.kill(target === "group" ? -p.pgid : p.pgid, signal);
    const exit = await p.exited;
    // npm exits after its child: the server is gone by now, not orphaned.
    const serverAlive = alive(serverPid);
    await groupGone(p.pgid);
    const messages = p.entries.map((e) => e.msg);
    return { exit, serverAlive, messages, output: p.output() };
  } finally {
    p.killGroup();
  }
}

describe("npm start and signals", () => {
  it("stops cleanly on a terminal's Ctrl-C (SIGINT to the process group), 20 starts in a row", async () => {
    const results = [];
    // Four at a time: twenty one after the other take long on a small machine.
    for (let batch = 0; batch < 5; batch++)
      results.push(...(await Promise.all([1, 2, 3, 4].map(() => startAndStop("group", "SIGINT")))));
    for (const r of results) {
      expect(r.exit, r.output).toEqual({ code: 0, signal: null });
      expect(r.serverAlive).toBe(false);
      expect(r.messages.filter((m) => m === "shutting down")).toHaveLength(1);
      expect(r.messages).toContain("metronome stopped");
      expect(r.messages).not.toContain("second signal: stopping now");
    }
  }, 300_000);

  it.each(["SIGINT", "SIGTERM"] as const)(
    "stops the server when npm alone gets %s (a process manager)",
    async (signal) => {
      const r = await startAndStop("npm", signal);
      expect(r.exit, r.output).toEqual({ code: 0, signal: null });
      expect(r.serverAlive).toBe(false);
      expect(r.messages).toContain("metronome stopped");
    },
    60_000,
  );

  describe("with a run in flight", () => {
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };

    /** A server with a worker whose handler holds its run until `release()`. */
    async function withHeldRun() {
      const p = npmStart({ METRONOME_SHUTDOWN_GRACE: "120" });
      const port = (await p.waitFor(listening)).address as { port: number };
      const baseUrl = `http://127.0.0.1:${String(port.port)}`;
      const workerLines: LogEntry[] = [];
      const capture = (level: string) => (obj: Record<string, unknown> | string, msg?: string) => {
        workerLines.push(typeof obj === "string" ? { level, msg: obj } : { level, ...obj, msg });
      };
      const worker = new Worker({
        baseUrl,
        logger: {
          debug: capture("debug"),
          info: capture("info"),
          warn: capture("warn"),
          error: capture("error"),
        },
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let entered: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (entered = resolve));
      worker.register("signals.hold", async () => {
        entered();
        await released;
        return "done";
      });
      await worker.start();
      const client = new MetronomeClient({ baseUrl, logger: quiet });
      const scheduler = client.scheduler("signals");
      await scheduler.addJob("signals.hold", new IntervalTrigger({ hours: 1 }), {
        id: "held",
        paused: true,
      });
      const run = await scheduler.runJob("held");
      await started;
      const cleanUp = async () => {
        release();
        await worker.stop({ graceMs: 1000 });
        client.close();
        p.killGroup();
      };
      return { p, runId: run.runId, release, cleanUp, workerLines };
    }

    it("says it waits for the run (Ctrl-C again to stop now), takes npm's copy of the signal as the same one, and exits 0 once the run is done", async () => {
      const { p, runId, release, cleanUp, workerLines } = await withHeldRun();
      try {
        process.kill(-p.pgid, "SIGINT");
        const waiting = await p.waitFor((e) => e.msg?.startsWith("waiting for") === true);
        expect(waiting.msg).toBe(
          "waiting for 1 run to finish (up to 120 s); Ctrl-C again to stop now",
        );
        expect(waiting).toMatchObject({ runs: 1, graceMs: 120_000 });
        release();
        expect(await p.exited, p.output()).toEqual({ code: 0, signal: null });
        const messages = p.entries.map((e) => e.msg);
        expect(messages.filter((m) => m === "shutting down")).toHaveLength(1);
        expect(messages).not.toContain("second signal: stopping now");
        // The run's outcome was recorded before the node stopped, and both sides logged it.
        const outcome = p.entries.find((e) => e.msg === "run succeeded");
        expect(outcome).toMatchObject({
          runId,
          scheduler: "signals",
          jobId: "held",
          handler: "signals.hold",
          attempt: 1,
        });
        expect(messages.indexOf("run succeeded")).toBeLessThan(
          messages.indexOf("metronome stopped"),
        );
        const runLines = workerLines.filter((l) => l.runId === runId && l.level !== "debug");
        expect(runLines.map((l) => [l.level, l.msg])).toEqual([
          ["info", "run started"],
          ["info", "run succeeded"],
        ]);
      } finally {
        await cleanUp();
      }
    }, 120_000);

    it("stops at once on a second Ctrl-C", async () => {
      const { p, cleanUp } = await withHeldRun();
      try {
        process.kill(-p.pgid, "SIGINT");
        await p.waitFor((e) => e.msg?.startsWith("waiting for 1 run") === true);
        // Copies of the first signal within the window count as one: the next Ctrl-C comes later.
        await sleep(DUPLICATE_SIGNAL_MS + 200);
        process.kill(-p.pgid, "SIGINT");
        const exit = await p.exited;
        expect(exit.code, p.output()).toBe(1);
        expect(p.entries.map((e) => e.msg)).toContain("second signal: stopping now");
        expect(p.entries.map((e) => e.msg)).not.toContain("metronome stopped");
      } finally {
        await cleanUp();
      }
    }, 120_000);
  });
});
