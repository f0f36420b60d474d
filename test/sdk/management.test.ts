/**
 * The SDK's job management against a real node (embedded SQLite, METRONOME_MAX_PAGE_SIZE=5):
 * getJobs follows page tokens within the server's page size, modifyJob leaves alone what a
 * change sets to undefined, start() keeps the declarations it could not add, RetryOptions mean
 * what their docs say, an oversized payload names its field, getInstance's settings apply before
 * the scheduler's next call, and the client keeps no scheduler or closed stream alive. Faults
 * are injected by an interceptor on the client's transport (the server stays real).
 */
import { getEventListeners } from "node:events";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CronTrigger,
  IntervalTrigger,
  InvalidArgumentError,
  MetronomeClient,
  ResourceExhaustedError,
  SchedulerManager,
  UnavailableError,
  defineHandler,
  type EventStream,
  type Scheduler,
} from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("the SDK's job management", () => {
  let db: TestStore;
  let node: TestNode;
  /** AddJob calls to fail with UNAVAILABLE before they reach the server. */
  let failAddJob = 0;
  let client: MetronomeClient;

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url, { METRONOME_MAX_PAGE_SIZE: "5" });
    const faults: Interceptor = (next) => (req) => {
      if (req.method.name === "AddJob" && failAddJob > 0) {
        failAddJob--;
        throw new ConnectError("injected: the node is restarting", Code.Unavailable);
      }
      return next(req);
    };
    client = new MetronomeClient({
      transport: createGrpcTransport({ baseUrl: node.url, interceptors: [faults] }),
      logger: quiet,
    });
    SchedulerManager.configure({ baseUrl: node.url, logger: quiet });
  });
  afterAll(async () => {
    await SchedulerManager.shutdown();
    client.close();
    await node.stop();
    await db.drop();
  });

  it("getJobs reads every page, within the server's largest page size", async () => {
    const s = client.scheduler("pages");
    const ids = Array.from({ length: 12 }, (_, i) => `job-${String(i).padStart(2, "0")}`);
    for (const id of ids) await s.addJob("pages.noop", "interval", { hours: 1, id });
    expect((await s.getJobs()).map((j) => j.id)).toEqual(ids);
    expect((await s.getJobs({ idPrefix: "job-1" })).map((j) => j.id)).toEqual(["job-10", "job-11"]);
  });

  it("modifyJob leaves alone what a change sets to undefined; null means no limit, or none", async () => {
    const s = client.scheduler("modify");
    await s.addJob("modify.noop", "interval", {
      hours: 1,
      id: "j",
      timeout: 10,
      maxInstances: 2,
      retry: { maxAttempts: 3 },
    });
    const changed = await s.modifyJob("j", {
      name: "renamed",
      timeout: undefined,
      maxInstances: undefined,
      retry: undefined,
      trigger: undefined,
      misfireGraceTime: null,
    });
    expect(changed).toMatchObject({
      name: "renamed",
      timeout: 10,
      maxInstances: 2,
      retry: { maxAttempts: 3 },
      misfireGraceTime: null,
    });
    expect(changed.trigger).toBeInstanceOf(IntervalTrigger);
    // null clears a timeout and a retry policy (a job read back can be sent back as changes).
    const cleared = await s.modifyJob("j", { timeout: null, retry: null });
    expect(cleared).toMatchObject({ timeout: null, retry: null, maxInstances: 2 });
    expect(await s.getJob("j")).toMatchObject({ timeout: null, retry: null });
  });

  it("start() keeps the declarations it could not add; the next start() adds them", async () => {
    const s = client.scheduler("declared");
    s.scheduledJob(new CronTrigger({ hour: 1 }))(defineHandler("declared.a", () => undefined));
    s.scheduledJob(new CronTrigger({ hour: 2 }))(defineHandler("declared.b", () => undefined));
    failAddJob = 1;
    await expect(s.start()).rejects.toBeInstanceOf(UnavailableError);
    expect((await s.getJobs()).length).toBe(1);
    await s.start();
    expect((await s.getJobs()).map((j) => j.id)).toEqual(["declared.a", "declared.b"]);
  });

  it("RetryOptions: maxAttempts from 1 to 100, maxBackoff 5 minutes unless set", async () => {
    const s = client.scheduler("retry");
    const one = await s.addJob("retry.noop", "interval", {
      hours: 1,
      id: "one",
      retry: { maxAttempts: 1 },
    });
    expect(one.retry).toEqual({
      maxAttempts: 1,
      initialBackoff: 1,
      maxBackoff: 300,
      multiplier: 2,
    });
    for (const maxAttempts of [0, 101]) {
      const err = await s
        .addJob("retry.noop", "interval", { hours: 1, id: "bad", retry: { maxAttempts } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe("job.retry_policy.max_attempts");
    }
  });

  it("a number that is no 32-bit whole number is refused before sending, naming its field", async () => {
    const s = client.scheduler("numbers");
    const refused = async (call: Promise<unknown>, field: string) => {
      const err = await call.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
      expect((err as InvalidArgumentError).message).toMatch(new RegExp(`^${field}: `));
    };
    const add = (options: object) =>
      s.addJob("numbers.noop", "interval", { hours: 1, id: "n", ...options });
    await refused(add({ maxInstances: 1.5 }), "job.max_instances");
    await refused(add({ maxInstances: 3e9 }), "job.max_instances");
    await refused(add({ maxInstances: "3" }), "job.max_instances");
    await refused(add({ retry: { maxAttempts: 2.5 } }), "job.retry_policy.max_attempts");
    await refused(add({ retry: { maxAttempts: NaN } }), "job.retry_policy.max_attempts");
    await add({});
    await refused(s.modifyJob("n", { maxInstances: 2.5 }), "job.max_instances");
    await refused(s.getRuns({ limit: 0.5 }), "page_size");
    // Settings refused here fail the calls that wait for them, as the server's refusals do.
    const defaults = client.scheduler("numbers", { jobDefaults: { maxInstances: 1e10 } });
    await refused(defaults.getJobs(), "job_defaults.max_instances");
    expect((await s.getJob("n"))?.maxInstances).toBe(1);
  });

  it("an oversized payload fails with ResourceExhaustedError naming its field", async () => {
    const s = client.scheduler("payload");
    const err = await s
      .addJob("payload.noop", "interval", { hours: 1, id: "big", args: ["x".repeat(70_000)] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).field).toBe("job.args");
  });

  it("getInstance's settings for an existing instance apply before its next call", async () => {
    const zoned = SchedulerManager.getInstance("zoned");
    expect(SchedulerManager.getInstance("zoned", { timezone: "Asia/Shanghai" })).toBe(zoned);
    const job = await zoned.addJob("zoned.noop", "cron", { hour: 2, id: "nightly" });
    expect(job.nextRunTime?.getUTCHours()).toBe(18); // 02:00 in Shanghai

    // Settings the server refuses: the next call says so, instead of going on without them.
    SchedulerManager.getInstance("zoned", { timezone: "Not/AZone" });
    const err = await zoned.getJobs().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe("timezone");
    // Valid settings again: calls work again.
    SchedulerManager.getInstance("zoned", { timezone: "UTC" });
    expect((await zoned.getJobs()).map((j) => j.id)).toEqual(["nightly"]);
  });

  it("the client keeps no reference to schedulers and streams that are done", async () => {
    let scheduler: Scheduler | undefined = client.scheduler("transient");
    await scheduler.getJobs();
    const schedulerRef = new WeakRef(scheduler);
    scheduler = undefined;
    let stream: EventStream | undefined = client.subscribe();
    stream.close();
    const streamRef = new WeakRef(stream);
    stream = undefined;
    // WeakRefs keep their target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(schedulerRef.deref()).toBeUndefined();
    expect(streamRef.deref()).toBeUndefined();
  });

  it("subscribe's signal: already aborted, the stream is closed; its listener goes with the stream", async () => {
    const aborted = new AbortController();
    aborted.abort();
    const closed = client.subscribe({ signal: aborted.signal });
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of closed) got.push(e.type);
    })();
    await reading; // ends at once, before any event
    await closed.whenLive();
    await client.scheduler("signal").addJob("signal.noop", "interval", { hours: 1, id: "s" });
    expect(got).toEqual([]);
    expect(getEventListeners(aborted.signal, "abort")).toHaveLength(0);

    // A long-lived signal shared by streams: each one's listener is removed when it ends.
    const shared = new AbortController();
    const closedByHand = client.subscribe({ signal: shared.signal });
    // Newer than the newest event: the iteration ends with OUT_OF_RANGE.
    const ended = client.subscribe({ signal: shared.signal, afterCursor: 10n ** 15n });
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(2);
    closedByHand.close();
    const drain = async (stream: EventStream) => {
      const seen: string[] = [];
      for await (const e of stream) seen.push(e.type);
      return seen;
    };
    await expect(drain(ended)).rejects.toThrow(/newer than the newest event/);
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(0);
    const live = client.subscribe({ signal: shared.signal });
    const following = drain(live);
    await live.whenLive();
    shared.abort(); // still ends the streams it is given to
    await following;
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(0);
  });

  it("close() still ends the streams a client opened", async () => {
    const own = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    const stream = own.subscribe();
    const reading = (async () => {
      let n = 0;
      for await (const event of stream) if (event.cursor > 0n) n++;
      return n;
    })();
    await stream.whenLive();
    const s = own.scheduler("closing");
    s.addListener(() => undefined);
    await s.listening();
    own.close();
    await expect(reading).resolves.toBe(0);
    await s.shutdown();
  });

  it("a stream that fails and subscribes again says so in the client's log", async () => {
    // The next five Subscribe calls fail as a node that is down would have them fail.
    let failing = 5;
    const faults: Interceptor = (next) => (req) => {
      if (req.method.name === "Subscribe" && failing > 0) {
        failing--;
        throw new ConnectError("injected: the node is down", Code.Unavailable);
      }
      return next(req);
    };
    const logged: { level: string; msg: string; failures: unknown }[] = [];
    const record =
      (level: string) =>
      (obj: Record<string, unknown> | string, msg?: string): void => {
        if (typeof obj === "string") logged.push({ level, msg: obj, failures: undefined });
        else logged.push({ level, msg: msg ?? "", failures: obj.failures });
      };
    const own = new MetronomeClient({
      transport: createGrpcTransport({ baseUrl: node.url, interceptors: [faults] }),
      logger: { debug() {}, info: record("info"), warn: record("warn"), error: record("error") },
    });
    try {
      const stream = own.subscribe({ reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
      const reading = (async () => {
        for await (const event of stream) expect(event.cursor).toBeGreaterThan(0n);
      })();
      await stream.whenLive();
      expect(failing).toBe(0);
      // The 1st failure at info, then the 2nd and 4th at warn (not every one).
      expect(logged).toEqual([
        { level: "info", msg: "the event stream failed; subscribing again", failures: 1 },
        { level: "warn", msg: "the event stream failed; subscribing again", failures: 2 },
        { level: "warn", msg: "the event stream failed; subscribing again", failures: 4 },
      ]);
      stream.close();
      await reading;
    } finally {
      own.close();
    }
  });
});
