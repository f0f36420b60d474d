/**
 * Nested args, kwargs and results, as a service using the SDK meets them, against a real node
 * (embedded SQLite store) and a real SDK worker: 32 levels deep (the limit) they go through
 * AddJob, the worker's assignment, the result, the job_executed event, GetJob and the runs; one
 * level more is refused when the job is added (INVALID_ARGUMENT naming the field), and a handler
 * returning it fails its run as ResultNotSerializable. The limit is what every message carrying
 * a value can be decoded with (protobuf decoders stop at 100 nested messages, two a level): 100
 * levels were accepted before, and kwargs or a result nested 49–50 levels or more made a GetJob
 * answer, a run, an event or an assignment that the SDK could not decode.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENT_JOB_ERROR,
  EVENT_JOB_EXECUTED,
  InvalidArgumentError,
  MetronomeClient,
  Worker,
  defineHandler,
  type MetronomeEvent,
  type Scheduler,
} from "@metronome/sdk";
import { MAX_JSON_DEPTH } from "../../server/src/domain/json.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

type Nested = number | Nested[] | { [key: string]: Nested };
/** `levels` arrays, one inside the other, around 1. */
const array = (levels: number): Nested[] => {
  let v: Nested = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v as Nested[];
};
/** `levels` objects, one inside the other, around 1. */
const object = (levels: number): Record<string, Nested> => {
  let v: Nested = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v as Record<string, Nested>;
};

const echo = defineHandler(
  "deep.echo",
  (_args: Nested[], kwargs: Record<string, Nested>) => kwargs,
);
const deeper = defineHandler("deep.deeper", (_args: Nested[], kwargs: Record<string, Nested>) => ({
  a: kwargs,
}));

describe("nested payloads through the SDK", () => {
  let db: TestStore;
  let node: TestNode;
  let client: MetronomeClient;
  let scheduler: Scheduler;
  let worker: Worker;
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
    node = await startTestNode(db.url);
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    scheduler = client.scheduler("deep");
    scheduler.addListener((e) => {
      events.push(e);
      if ("runId" in e) waiting.get(e.runId)?.(e);
    }, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR);
    await scheduler.listening();
    worker = new Worker({ baseUrl: node.url, logger: quiet, workerId: "deep-payloads" });
    worker.register(echo).register(deeper);
    await worker.start();
  });
  afterAll(async () => {
    await scheduler.shutdown();
    client.close();
    await worker.stop({ graceMs: 1000 });
    await node.stop();
    await db.drop();
  });

  it(`carries args, kwargs and a result ${String(MAX_JSON_DEPTH)} levels deep everywhere`, async () => {
    const args = array(MAX_JSON_DEPTH);
    const kwargs = object(MAX_JSON_DEPTH);
    const added = await scheduler.addJob(echo, "interval", { hours: 1, id: "limit", args, kwargs });
    expect(added.args).toEqual(args);
    expect(added.kwargs).toEqual(kwargs);
    expect((await scheduler.getJob("limit"))?.kwargs).toEqual(kwargs);
    const run = await scheduler.runJob("limit");
    const end = await ended(run.runId);
    expect(end).toMatchObject({ type: "job_executed", result: kwargs });
    const [stored] = await scheduler.getRuns({ jobId: "limit" });
    expect(stored).toMatchObject({ runId: run.runId, status: "succeeded", result: kwargs });
  });

  it("refuses args or kwargs one level deeper when the job is added, naming the field", async () => {
    const tooDeep = [
      { args: array(MAX_JSON_DEPTH + 1), field: "job.args" },
      { kwargs: object(MAX_JSON_DEPTH + 1), field: "job.kwargs" },
    ];
    for (const { field, ...payload } of tooDeep) {
      const refused = await scheduler
        .addJob(echo, "interval", { hours: 1, id: "too-deep", ...payload })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(refused).toBeInstanceOf(InvalidArgumentError);
      expect(refused).toMatchObject({
        field,
        message: expect.stringContaining(
          `is nested more than ${String(MAX_JSON_DEPTH)} levels deep`,
        ) as unknown,
      });
    }
    expect(await scheduler.getJob("too-deep")).toBeNull();
  });

  it("fails a run whose result is one level deeper as ResultNotSerializable", async () => {
    await scheduler.addJob(deeper, "interval", {
      hours: 1,
      id: "deeper",
      kwargs: object(MAX_JSON_DEPTH),
    });
    const run = await scheduler.runJob("deeper");
    const end = await ended(run.runId);
    expect(end).toMatchObject({
      type: "job_error",
      error: {
        type: "ResultNotSerializable",
        message: expect.stringContaining(
          `nested more than ${String(MAX_JSON_DEPTH)} levels deep`,
        ) as unknown,
      },
    });
  });
});
