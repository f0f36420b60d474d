/**
 * Large results through the SDK's Worker against a real node: a handler returning 400 KB of JSON
 * fails its run as ResultTooLarge in the worker itself (the result is never sent: the message
 * is the SDK's) and the worker keeps its one session; six handlers ending together with 60 KB
 * results each are recorded, the worker cutting its RunResults by bytes. Before, the SDK sent
 * results up to 1 MiB and batched up to 1,000 results whatever their size: the node refused the
 * message (RESOURCE_EXHAUSTED), the worker reconnected and sent it again, over and over, until
 * the lease expired and the run failed as LeaseExpired.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENT_JOB_ERROR,
  EVENT_JOB_EXECUTED,
  MetronomeClient,
  Worker,
  defineHandler,
  type MetronomeEvent,
  type Scheduler,
} from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const huge = defineHandler("sizes.huge", () => "x".repeat(400_000));
const small = defineHandler("sizes.small", () => ({ ok: true }));

/** The six runs of `sizes.sixty` wait for each other, then end in the same turn. */
let started = 0;
let release: () => void = () => undefined;
const together = new Promise<void>((resolve) => {
  release = resolve;
});
const sixty = defineHandler("sizes.sixty", async (_args: [], _kwargs, ctx) => {
  if (++started === 6) release();
  await together;
  return { run: ctx.runId, pad: "p".repeat(60_000) };
});

describe("large results from the SDK's worker", () => {
  let db: TestStore;
  let node: TestNode;
  let client: MetronomeClient;
  let scheduler: Scheduler;
  let worker: Worker;
  let sessions = 0;
  let disconnections = 0;
  const events: MetronomeEvent[] = [];
  const waiting = new Map<string, (e: MetronomeEvent) => void>();
  /** The run's end event, when it comes. */
  const ended = (runId: string) =>
    new Promise<MetronomeEvent>((resolve) => {
      const seen = events.find((e) => "runId" in e && e.runId === runId);
      if (seen !== undefined) resolve(seen);
      else waiting.set(runId, resolve);
    });

  beforeAll(async () => {
    db = await createSqliteStore();
    // A short lease: a result that never gets through fails its run (LeaseExpired) in seconds.
    node = await startTestNode(db.url, { METRONOME_LEASE_DURATION: "2" });
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    scheduler = client.scheduler("sizes");
    scheduler.addListener((e) => {
      events.push(e);
      if ("runId" in e) waiting.get(e.runId)?.(e);
    }, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR);
    await scheduler.listening();
    worker = new Worker({
      baseUrl: node.url,
      logger: quiet,
      workerId: "sizes",
      maxConcurrency: 10,
    });
    worker.on("connected", () => sessions++);
    worker.on("disconnected", () => disconnections++);
    worker.register(huge).register(small).register(sixty);
    await worker.start();
  });
  afterAll(async () => {
    await scheduler.shutdown();
    client.close();
    await worker.stop({ graceMs: 1000 });
    await node.stop();
    await db.drop();
  });

  it("fails a 400 KB result as ResultTooLarge without sending it, on one session", async () => {
    await scheduler.addJob(huge, "interval", { hours: 1, id: "huge" });
    await scheduler.addJob(small, "interval", { hours: 1, id: "small" });
    const run = await scheduler.runJob("huge");
    expect(await ended(run.runId)).toMatchObject({
      type: "job_error",
      error: { type: "ResultTooLarge" },
    });
    const [stored] = await scheduler.getRuns({ jobId: "huge" });
    expect(stored).toMatchObject({
      status: "failed",
      // The SDK's message: the server's would be "the result is larger than 65536 bytes of JSON".
      error: {
        type: "ResultTooLarge",
        message: "the result is 400002 bytes of JSON; at most 65,536 are stored",
      },
    });
    // The same session runs the next job.
    const next = await scheduler.runJob("small");
    expect(await ended(next.runId)).toMatchObject({ type: "job_executed", result: { ok: true } });
    expect({ sessions, disconnections }).toEqual({ sessions: 1, disconnections: 0 });
  });

  it("records six 60 KB results that end together", async () => {
    await scheduler.addJob(sixty, "interval", { hours: 1, id: "sixty", maxInstances: 6 });
    const runs = [];
    for (let i = 0; i < 6; i++) runs.push(await scheduler.runJob("sixty"));
    const ends = await Promise.all(runs.map((r) => ended(r.runId)));
    for (const [i, e] of ends.entries())
      expect(e).toMatchObject({ type: "job_executed", result: { run: runs[i]?.runId } });
    expect({ sessions, disconnections }).toEqual({ sessions: 1, disconnections: 0 });
  });
});
