/**
 * What the three-terminal demo shows: the SDK worker logs one line when a run starts and one with
 * its outcome (info when it succeeded, warn when it failed), and the server logs each recorded
 * outcome in one line. A real node (embedded SQLite) and a real SDK worker; both loggers capture.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../server/src/clock.js";
import { loadConfig } from "../../server/src/config/load.js";
import { createLogger } from "../../server/src/logger.js";
import { startNode, type Node } from "../../server/src/server.js";
import {
  IntervalTrigger,
  MetronomeClient,
  NonRetryableError,
  Worker,
  type Scheduler,
} from "@metronome/sdk";

type Line = Record<string, unknown> & { msg?: string | undefined; level?: unknown };

/** Captured log lines, and a way to wait for one. */
class Lines {
  readonly all: Line[] = [];
  private readonly waiters = new Set<() => void>();

  push(line: Line): void {
    this.all.push(line);
    for (const w of this.waiters) w();
  }

  waitFor(match: (l: Line) => boolean): Promise<Line> {
    return new Promise((resolve) => {
      const check = (): void => {
        const found = this.all.find(match);
        if (found === undefined) return;
        this.waiters.delete(check);
        resolve(found);
      };
      this.waiters.add(check);
      check();
    });
  }
}

const dir = mkdtempSync(join(tmpdir(), "metronome-run-logging-"));
const server = new Lines();
const worker = new Lines();
let node: Node;
let w: Worker;
let client: MetronomeClient;
let scheduler: Scheduler;

beforeAll(async () => {
  const config = loadConfig({
    env: {
      SCHEDULER__JOBSTORE_URL: `sqlite:///${join(dir, "m.db")}`,
      METRONOME_HOST: "127.0.0.1",
      METRONOME_PORT: "0",
      METRONOME_SHUTDOWN_GRACE: "1",
    },
    defaultNodeId: "logging-node",
  });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      server.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  const log = createLogger("info", {}, { destination });
  node = await startNode(config, log, systemClock);
  const baseUrl = `http://127.0.0.1:${String(node.listener.address.port)}`;
  const capture = (level: string) => (obj: Record<string, unknown> | string, msg?: string) => {
    worker.push(typeof obj === "string" ? { level, msg: obj } : { level, ...obj, msg });
  };
  w = new Worker({
    baseUrl,
    workerId: "logging-worker",
    logger: {
      debug: capture("debug"),
      info: capture("info"),
      warn: capture("warn"),
      error: capture("error"),
    },
  });
  w.register("log.ok", () => "fine");
  w.register("log.bad", () => {
    throw new NonRetryableError("the input is wrong\n  at line two of the message");
  });
  await w.start();
  client = new MetronomeClient({
    baseUrl,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  scheduler = client.scheduler("logging");
});

afterAll(async () => {
  await w.stop({ graceMs: 1000 });
  client.close();
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function runOnce(handler: string, id: string): Promise<string> {
  await scheduler.addJob(handler, new IntervalTrigger({ hours: 1 }), { id, paused: true });
  return (await scheduler.runJob(id)).runId;
}

const info = 30;
const warn = 40;

describe("run logging", () => {
  it("a run that succeeds: the worker logs its start and its success; the server its success", async () => {
    const runId = await runOnce("log.ok", "ok-job");
    const serverLine = await server.waitFor((l) => l.runId === runId);
    const workerDone = await worker.waitFor(
      (l) => l.runId === runId && l.msg !== "run started" && l.level !== "debug",
    );
    const fields = { runId, attempt: 1, handler: "log.ok", jobId: "ok-job" };
    expect(worker.all.filter((l) => l.runId === runId && l.level !== "debug")).toEqual([
      { level: "info", msg: "run started", ...fields },
      { level: "info", msg: "run succeeded", ...fields, ms: workerDone.ms },
    ]);
    expect(typeof workerDone.ms).toBe("number");
    expect(serverLine).toMatchObject({
      level: info,
      msg: "run succeeded",
      ...fields,
      scheduler: "logging",
      worker: "logging-worker",
    });
    expect(typeof serverLine.ms).toBe("number");
    expect(server.all.filter((l) => l.runId === runId)).toHaveLength(1);
  });

  it("a run that fails: warn lines on both sides, with the first line of the message", async () => {
    const runId = await runOnce("log.bad", "bad-job");
    const serverLine = await server.waitFor((l) => l.runId === runId);
    const workerDone = await worker.waitFor((l) => l.runId === runId && l.level === "warn");
    const fields = { runId, attempt: 1, handler: "log.bad", jobId: "bad-job" };
    expect(worker.all.filter((l) => l.runId === runId && l.level !== "debug")).toEqual([
      { level: "info", msg: "run started", ...fields },
      {
        level: "warn",
        msg: "run failed",
        ...fields,
        ms: workerDone.ms,
        type: "NonRetryableError",
        error: "the input is wrong",
      },
    ]);
    expect(serverLine).toMatchObject({
      level: warn,
      msg: "run failed",
      ...fields,
      error: "NonRetryableError: the input is wrong",
    });
  });
});
