/**
 * The SDK's side of events, against real nodes and a real SDK worker: listeners with
 * APScheduler-style masks receive typed events of their scheduler only (one node, on the embedded
 * SQLite store); an EventStream resumes by itself across a restart of the node it reads from,
 * missing nothing committed meanwhile through another node (two nodes, on MariaDB and on
 * PostgreSQL).
 */
import { fromJson } from "@bufbuild/protobuf";
import { ListValueSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENT_ALL,
  EVENT_JOB_ADDED,
  EVENT_JOB_ERROR,
  EVENT_JOB_EXECUTED,
  MetronomeClient,
  NonRetryableError,
  OutOfRangeError,
  Worker,
  typesOfMask,
  type MetronomeEvent,
} from "@metronome/sdk";
import { describeEachSharedStore, type SharedTestDatabase } from "../support/shared-stores.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Collects what a listener receives and resolves `until(n)` once it has n events. */
function collector() {
  const got: MetronomeEvent[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    got,
    listener: (e: MetronomeEvent) => {
      got.push(e);
      if (waiter !== undefined && got.length >= waiter.n) waiter.resolve();
    },
    until: (n: number) =>
      new Promise<void>((resolve) => {
        if (got.length >= n) resolve();
        else waiter = { n, resolve };
      }),
  };
}

describe("SDK events", () => {
  let db: TestStore;
  let a: TestNode;
  let client: MetronomeClient;
  let worker: Worker;

  beforeAll(async () => {
    db = await createSqliteStore();
    a = await startTestNode(db.url);
    client = new MetronomeClient({ baseUrl: a.url, logger: quiet });
    worker = new Worker({ baseUrl: a.url, logger: quiet, workerId: "sdk-events" });
    worker.register("sdk.ok", ([n]) => ({ doubled: (n as number) * 2 }));
    worker.register("sdk.fail", () => {
      throw new NonRetryableError("no luck");
    });
    await worker.start();
  });
  afterAll(async () => {
    client.close();
    await worker.stop();
    await a.stop();
    await db.drop();
  });

  it("masks select the types; events are typed and of the listener's scheduler only", async () => {
    const scheduler = client.scheduler("default");
    const outcomes = collector();
    const added = collector();
    scheduler.addListener(outcomes.listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR);
    scheduler.addListener(added.listener, EVENT_JOB_ADDED);
    const elsewhere = collector();
    const other = client.scheduler("other");
    other.addListener(elsewhere.listener, EVENT_ALL);
    await Promise.all([scheduler.listening(), other.listening()]);

    const hourly = { kind: { case: "interval" as const, value: { hours: 1 } } };
    await client.jobs.addJob({
      job: { id: "ok", handler: "sdk.ok", trigger: hourly, args: fromJson(ListValueSchema, [21]) },
    });
    await client.jobs.addJob({ job: { id: "bad", handler: "sdk.fail", trigger: hourly } });
    await client.jobs.runJobNow({ jobId: "ok" });
    await outcomes.until(1);
    await client.jobs.runJobNow({ jobId: "bad" });
    await outcomes.until(2);
    await added.until(2);

    expect(added.got.map((e) => e.type)).toEqual(["job_added", "job_added"]);
    const [executed, failed] = outcomes.got;
    if (executed?.type !== "job_executed" || failed?.type !== "job_error")
      throw new Error(`unexpected ${String(executed?.type)}, ${String(failed?.type)}`);
    expect(executed).toMatchObject({
      scheduler: "default",
      jobId: "ok",
      handler: "sdk.ok",
      manual: true,
      attempt: 1,
      runStatus: "succeeded",
      workerId: "sdk-events",
      result: { doubled: 42 },
      code: EVENT_JOB_EXECUTED,
    });
    expect(failed).toMatchObject({ jobId: "bad", runStatus: "failed", code: EVENT_JOB_ERROR });
    expect(failed.error).toMatchObject({ message: "no luck", nonRetryable: true });
    expect(executed.time).toBeInstanceOf(Date);
    expect(executed.cursor).toBeLessThan(failed.cursor);
    // The other scheduler's listener saw nothing of "default" (worker events have no scheduler).
    expect(elsewhere.got.filter((e) => "scheduler" in e)).toEqual([]);

    scheduler.removeListener(outcomes.listener);
    scheduler.close();
    other.close();
    expect(() => {
      scheduler.addListener(() => undefined, 0);
    }).toThrow(RangeError);
    expect(typesOfMask(EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)).toEqual([
      "job_executed",
      "job_error",
    ]);
  }, 20_000);

  it("a cursor the server refuses ends the stream with a typed error", async () => {
    const stream = client.subscribe({ afterCursor: 10n ** 15n });
    const iterate = async () => {
      const seen: unknown[] = [];
      for await (const e of stream) seen.push(e);
      return seen;
    };
    // A stream that failed was never live: whenLive() says why, to whoever waited for it and
    // when asked afterwards.
    const waited = expect(stream.whenLive()).rejects.toBeInstanceOf(OutOfRangeError);
    await expect(iterate()).rejects.toBeInstanceOf(OutOfRangeError);
    await waited;
    await expect(stream.whenLive()).rejects.toBeInstanceOf(OutOfRangeError);
  });
});

describeEachSharedStore("SDK events with two nodes", (createDatabase) => {
  let db: SharedTestDatabase;
  let a: TestNode;
  let b: TestNode;
  let client: MetronomeClient;

  beforeAll(async () => {
    db = await createDatabase();
    a = await startTestNode(db.url);
    b = await startTestNode(db.url, { METRONOME_NODE_ID: "node-b" });
    client = new MetronomeClient({ baseUrl: a.url, logger: quiet });
  });
  afterAll(async () => {
    client.close();
    await a.stop();
    await b.stop();
    await db.drop();
  });

  it("an EventStream resumes by itself across a restart of its node", async () => {
    const port = a.port;
    const stream = client.subscribe({ filter: { schedulers: ["resume"] } });
    const seen: string[] = [];
    let waiter: { n: number; resolve: () => void } | undefined;
    const reading = (async () => {
      for await (const e of stream) {
        if (e.type === "job_added") seen.push(e.jobId);
        if (waiter !== undefined && seen.length >= waiter.n) waiter.resolve();
      }
    })();
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        if (seen.length >= n) resolve();
        else waiter = { n, resolve };
      });
    await stream.whenLive();
    const viaB = new MetronomeClient({ baseUrl: b.url, logger: quiet });
    const add = (id: string) =>
      viaB.jobs.addJob({
        job: {
          scheduler: "resume",
          id,
          handler: "sdk.ok",
          trigger: { kind: { case: "interval", value: { hours: 1 } } },
        },
      });
    try {
      await add("before");
      await until(1);
      // Node a goes away; changes go on through node b; a comes back on the same port.
      await a.stop();
      await add("during-1");
      await add("during-2");
      a = await startTestNode(db.url, { METRONOME_PORT: String(port) });
      await add("after");
      await until(4);
      expect(seen).toEqual(["before", "during-1", "during-2", "after"]);
    } finally {
      stream.close();
      await reading;
      viaB.close();
    }
  }, 30_000);
});
