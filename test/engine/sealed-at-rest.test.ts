/**
 * Job data sealed at rest (METRONOME_ENCRYPTION_KEYS, docs/security.md "What is encrypted
 * where"), on every store: a node with a key adds jobs with distinctive args and kwargs through
 * the API, an SDK worker runs them (one returns a distinctive result, one fails with a
 * distinctive error) and receives its arguments in clear; the API and the event stream answer
 * them in clear; and nothing the store holds, read past Metronome (rows of every table, the
 * SQLite file's bytes, every Redis key), contains any of them. A restart with the key list
 * rotated (new key first, old second) reads the old rows and seals new ones under the new key id
 * (read through the store port without sealing); a node without the old key answers
 * FAILED_PRECONDITION naming it for the old job (RunJobNow makes no run, RemoveJob works),
 * serves the new one, and fails a waiting run of the old key instead of sending it to its
 * worker; `metronome reseal`
 * rewrites the old jobs under the new key (nothing else of them changes), after which they read
 * without the old key, while their old runs still need it.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { MetronomeClient, NonRetryableError, Worker } from "@metronome/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config/load.js";
import { EventType } from "../../server/src/gen/metronome/v1/event_pb.js";
import { RunStatus } from "../../server/src/gen/metronome/v1/run_pb.js";
import { envelopeKeyId } from "../../server/src/lib/envelope.js";
import { resealOnly } from "../../server/src/main.js";
import { openStore } from "../../server/src/store/open.js";
import { describeEachStore } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { rawStoreText } from "../support/raw-store.js";
import type { TestStore } from "../support/stores.js";
import { SEALED_ARGUMENT } from "../support/suite-logs.js";

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};
const OLD = `old:${randomBytes(32).toString("base64")}`;
const NEW = `new:${randomBytes(32).toString("base64")}`;
const every = (seconds: number) => ({ kind: { case: "interval" as const, value: { seconds } } });
/** What the test reads of an event (the SDK's generated type, without its enum's identity). */
interface SeenEvent {
  readonly type: number;
  readonly jobId: string;
  readonly resultJson: string;
  readonly error?: { readonly type: string; readonly message: string } | undefined;
}
const JOB_ERROR: number = EventType.JOB_ERROR;
const JOB_EXECUTED: number = EventType.JOB_EXECUTED;
const ENDED = new Set<number>([RunStatus.SUCCEEDED, RunStatus.FAILED]);

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeEachStore("job data sealed at rest", (createStore) => {
  const tag = randomBytes(6).toString("hex");
  // With the marker the suite's log scan looks for (support/suite-logs.ts): never in a log line.
  const ARG = `${SEALED_ARGUMENT}-arg-${tag}`;
  const KWARG = `kwarg-${tag}`;
  const RESULT = `result-${tag}`;
  const ERROR = `error-${tag}`;
  const ARG2 = `second-${tag}`;

  let store: TestStore | undefined;
  let node: TestNode | undefined;
  let client: MetronomeClient | undefined;
  let worker: Worker | undefined;
  const received: unknown[][] = [];
  const laterReceived: unknown[] = [];
  let echoVersion = 0n;

  async function start(keys: string, serveLater = false): Promise<MetronomeClient> {
    await stop();
    node = await startTestNode(store?.url ?? "", {
      METRONOME_ENCRYPTION_KEYS: keys,
      METRONOME_POLL_INTERVAL: "0.1",
    });
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    worker = new Worker({ baseUrl: node.url, workerId: "sealed-worker", logger: quiet });
    worker.register("sealed.echo", (args, kwargs) => {
      received.push([args, kwargs]);
      return { echo: RESULT, n: 1 };
    });
    worker.register("sealed.fail", () => {
      throw new NonRetryableError(ERROR);
    });
    if (serveLater)
      worker.register("sealed.later", (args) => {
        laterReceived.push(args);
      });
    await worker.start();
    return client;
  }

  async function stop(): Promise<void> {
    client?.close();
    await worker?.stop();
    await node?.stop();
    client = undefined;
    worker = undefined;
    node = undefined;
  }

  /** Runs a job now and waits for the run to end. */
  async function runNow(c: MetronomeClient, jobId: string) {
    const { run } = await c.jobs.runJobNow({ jobId });
    const runId = run?.runId ?? "";
    const ended = await until(
      () => c.runs.getRun({ runId }),
      (r) => r.run !== undefined && ENDED.has(r.run.status),
      `run of ${jobId} ended`,
    );
    return ended.run;
  }

  /** The sealed cells of a job as the store holds them, read through the port without sealing. */
  async function storedJobArgs(jobId: string): Promise<unknown> {
    const config = loadConfig({ env: { SCHEDULER__JOBSTORE_URL: store?.url ?? "" } });
    const raw = openStore(config.store);
    try {
      return (await raw.getJob("default", jobId))?.args;
    } finally {
      await raw.close();
    }
  }

  /** A job's runs as the store holds them, read through the port without sealing. */
  async function storedRuns(jobId: string) {
    const config = loadConfig({ env: { SCHEDULER__JOBSTORE_URL: store?.url ?? "" } });
    const raw = openStore(config.store);
    try {
      return await raw.listRuns({ scheduler: "default", jobId, statuses: [], limit: 100 });
    } finally {
      await raw.close();
    }
  }

  /** The events from the log's start until `done` holds for them. */
  async function eventsUntil(c: MetronomeClient, done: (seen: readonly SeenEvent[]) => boolean) {
    const abort = new AbortController();
    const seen: SeenEvent[] = [];
    for await (const res of c.events.subscribe(
      { start: { case: "afterCursor", value: 0n } },
      { signal: abort.signal },
    )) {
      seen.push(...res.events);
      if (done(seen)) break;
    }
    abort.abort();
    return seen;
  }

  beforeAll(async () => {
    store = await createStore();
  }, 60_000);

  afterAll(async () => {
    await stop();
    await store?.drop();
  }, 60_000);

  it("args, kwargs, results and errors are sealed in the store, clear through the API and to workers", async () => {
    const c = await start(OLD);
    await c.jobs.addJob({
      job: {
        id: "echo",
        handler: "sealed.echo",
        trigger: every(3600),
        argsJson: JSON.stringify([ARG, 7]),
        kwargsJson: JSON.stringify({ who: KWARG }),
      },
    });
    await c.jobs.addJob({
      job: { id: "fail", handler: "sealed.fail", trigger: every(3600), argsJson: `["${ARG}"]` },
    });
    // A job whose run waits, under this key, for a worker that comes only after the key is gone.
    await c.jobs.addJob({
      job: {
        id: "later",
        handler: "sealed.later",
        trigger: every(3600),
        argsJson: `["${ARG}"]`,
        misfireGraceTime: { value: { case: "noLimit", value: true } },
      },
    });
    expect((await c.jobs.runJobNow({ jobId: "later" })).run?.status).toBe(RunStatus.PENDING);
    const echoed = await runNow(c, "echo");
    const failed = await runNow(c, "fail");

    // The worker got the arguments in clear, the API answers them in clear.
    expect(received).toEqual([[[ARG, 7], { who: KWARG }]]);
    const { job } = await c.jobs.getJob({ jobId: "echo" });
    expect(JSON.parse(job?.argsJson ?? "")).toEqual([ARG, 7]);
    expect(JSON.parse(job?.kwargsJson ?? "")).toEqual({ who: KWARG });
    expect(echoed?.status).toBe(RunStatus.SUCCEEDED);
    expect(JSON.parse(echoed?.resultJson ?? "")).toEqual({ echo: RESULT, n: 1 });
    expect(failed?.status).toBe(RunStatus.FAILED);
    expect(failed?.error?.message).toBe(ERROR);
    const listed = await c.runs.listRuns({ jobId: "echo" });
    expect(JSON.parse(listed.runs[0]?.resultJson ?? "")).toEqual({ echo: RESULT, n: 1 });

    // The event log, replayed from its start, reports the result and the error in clear.
    const seen = await eventsUntil(c, (events) => {
      const types = new Set(events.map((e) => e.type));
      return types.has(EventType.JOB_EXECUTED) && types.has(EventType.JOB_ERROR);
    });
    const ofType = (type: number) => seen.find((e) => e.type === type);
    expect(JSON.parse(ofType(EventType.JOB_EXECUTED)?.resultJson ?? "")).toEqual({
      echo: RESULT,
      n: 1,
    });
    expect(ofType(EventType.JOB_ERROR)?.error?.message).toBe(ERROR);

    // The store itself holds none of them in clear, and holds envelopes under the key id.
    const raw = await rawStoreText(store?.url ?? "");
    expect(raw).toContain("mtn-sealed:v1:old:");
    expect(raw).not.toContain(tag);
    expect(envelopeKeyId(String(await storedJobArgs("echo")))).toBe("old");
  }, 120_000);

  it("a live subscriber gets a run's result in clear (the events its commit or the sequencer read, opened)", async () => {
    const c = await start(OLD);
    await c.jobs.addJob({
      job: { id: "live-echo", handler: "sealed.echo", trigger: every(3600), argsJson: "[]" },
    });
    const abort = new AbortController();
    const subscription = c.events.subscribe(
      { start: { case: "fromNow", value: true } },
      { signal: abort.signal },
    );
    const stream = subscription[Symbol.asyncIterator]();
    try {
      const first = await stream.next();
      expect(first.done !== true && first.value.live).toBe(true);
      const [run] = await Promise.all([
        runNow(c, "live-echo"),
        (async () => {
          for (;;) {
            const m = await stream.next();
            if (m.done === true) throw new Error("the stream ended");
            const executed = m.value.events.find((e) => {
              const type: number = e.type;
              return type === JOB_EXECUTED && e.jobId === "live-echo";
            });
            if (executed !== undefined) {
              expect(JSON.parse(executed.resultJson)).toEqual({ echo: RESULT, n: 1 });
              return;
            }
          }
        })(),
      ]);
      expect(run?.status).toBe(RunStatus.SUCCEEDED);
    } finally {
      abort.abort();
    }
    // The rotation tests below count the jobs under each key.
    await c.jobs.removeJob({ jobId: "live-echo" });
  }, 120_000);

  it("the recorded answer of an AddJob sent with an idempotency key is sealed too", async () => {
    const c = await start(OLD);
    const headers = { "idempotency-key": "sealed-answer-key" };
    const job = {
      id: "keyed",
      handler: "sealed.echo",
      trigger: every(3600),
      argsJson: `["${ARG}"]`,
    };
    const first = await c.jobs.addJob({ job }, { headers });
    const again = await c.jobs.addJob({ job }, { headers });
    expect(again.job?.argsJson).toBe(first.job?.argsJson); // the first answer, opened
    expect(JSON.parse(again.job?.argsJson ?? "")).toEqual([ARG]);
    // The record as the store holds it: an envelope under the key id, no argument in it.
    const config = loadConfig({ env: { SCHEDULER__JOBSTORE_URL: store?.url ?? "" } });
    const raw = openStore(config.store);
    try {
      const record = await raw.idempotency?.getIdempotencyRecord(
        "anonymous",
        "sealed-answer-key",
        Date.now(),
      );
      const answer = record?.answer;
      if (answer?.ok !== true) throw new Error("no recorded answer");
      const stored = Buffer.from(answer.response);
      expect(stored.toString("utf8")).toMatch(/^mtn-sealed:v1:old:/);
      expect(stored.includes(tag)).toBe(false);
    } finally {
      await raw.close();
    }
    await c.jobs.removeJob({ jobId: "keyed" }); // the tests below count the jobs of the first
  }, 120_000);

  it("rotation: with the new key first, old rows read and new rows are sealed under the new id", async () => {
    received.length = 0;
    const c = await start(`${NEW},${OLD}`);
    const { job } = await c.jobs.getJob({ jobId: "echo" });
    expect(JSON.parse(job?.argsJson ?? "")).toEqual([ARG, 7]);
    echoVersion = BigInt(job?.version ?? 0);
    const old = await c.runs.listRuns({ jobId: "echo" });
    expect(JSON.parse(old.runs[0]?.resultJson ?? "")).toEqual({ echo: RESULT, n: 1 });

    await c.jobs.addJob({
      job: { id: "echo2", handler: "sealed.echo", trigger: every(3600), argsJson: `["${ARG2}"]` },
    });
    const run = await runNow(c, "echo2");
    expect(JSON.parse(run?.resultJson ?? "")).toEqual({ echo: RESULT, n: 1 });
    expect(received).toEqual([[[ARG2], {}]]);

    // A change of the kwargs seals them anew; the args, unchanged, keep their envelope.
    const argsBefore = await storedJobArgs("echo2");
    const modified = await c.jobs.modifyJob({
      job: { id: "echo2", kwargsJson: JSON.stringify({ again: KWARG }) },
      updateMask: { paths: ["kwargs"] },
    });
    expect(JSON.parse(modified.job?.kwargsJson ?? "")).toEqual({ again: KWARG });
    expect(JSON.parse(modified.job?.argsJson ?? "")).toEqual([ARG2]);
    expect(await storedJobArgs("echo2")).toBe(argsBefore);

    const raw = await rawStoreText(store?.url ?? "");
    expect(raw).toContain("mtn-sealed:v1:new:");
    expect(raw).not.toContain(tag);
    expect(envelopeKeyId(String(await storedJobArgs("echo2")))).toBe("new");
    expect(envelopeKeyId(String(await storedJobArgs("echo")))).toBe("old");
  }, 120_000);

  it("without the old key: its rows answer FAILED_PRECONDITION naming the key id; new rows read", async () => {
    const c = await start(NEW);
    const err = await c.jobs.getJob({ jobId: "echo" }).then(
      () => null,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain('key id "old"');
    expect(err?.rawMessage).not.toContain(OLD.slice(4));
    expect(err?.rawMessage).not.toContain(NEW.slice(4));
    const { job } = await c.jobs.getJob({ jobId: "echo2" });
    expect(JSON.parse(job?.argsJson ?? "")).toEqual([ARG2]);

    // RunJobNow of the old job is refused, and makes no run.
    const before = (await storedRuns("echo")).length;
    const refused = await c.jobs.runJobNow({ jobId: "echo" }).then(
      () => null,
      (e: unknown) => ConnectError.from(e),
    );
    expect(refused?.code).toBe(Code.FailedPrecondition);
    expect(await storedRuns("echo")).toHaveLength(before);

    // Removing a job opens nothing: it works without the key.
    await c.jobs.removeJob({ jobId: "fail" });
    expect(await storedJobArgs("fail")).toBeUndefined();
  }, 120_000);

  it("a waiting run this node cannot open is not sent to the worker: it fails, saying why", async () => {
    const c = await start(NEW, true);
    const seen = await eventsUntil(c, (events) =>
      events.some((e) => e.type === JOB_ERROR && e.jobId === "later"),
    );
    const failed = seen.find((e) => e.type === JOB_ERROR && e.jobId === "later");
    expect(failed?.error?.type).toBe("SealedDataError");
    expect(failed?.error?.message).toContain('key id "old"');
    expect(laterReceived).toEqual([]);
    const [run] = await storedRuns("later");
    expect(run?.status).toBe("failed");
    expect(run?.attempt).toBe(1);
  }, 120_000);

  it("reseal: jobs under the old key are sealed under the new one, unchanged otherwise", async () => {
    await stop();
    const config = loadConfig({
      env: {
        SCHEDULER__JOBSTORE_URL: store?.url ?? "",
        METRONOME_ENCRYPTION_KEYS: `${NEW},${OLD}`,
        METRONOME_LOG_LEVEL: "silent",
      },
    });
    // echo and later were sealed under "old", echo2 under "new" (fail was removed).
    expect(await resealOnly(config)).toEqual({ jobs: 3, resealed: 2 });
    expect(await resealOnly(config)).toEqual({ jobs: 3, resealed: 0 });
    for (const id of ["echo", "later", "echo2"])
      expect(envelopeKeyId(String(await storedJobArgs(id)))).toBe("new");

    const c = await start(NEW);
    const { job } = await c.jobs.getJob({ jobId: "echo" });
    expect(JSON.parse(job?.argsJson ?? "")).toEqual([ARG, 7]);
    expect(JSON.parse(job?.kwargsJson ?? "")).toEqual({ who: KWARG });
    expect(BigInt(job?.version ?? 0)).toBe(echoVersion);
    // Its run of before the rotation keeps the old key's envelopes.
    const err = await c.runs.listRuns({ jobId: "echo" }).then(
      () => null,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain('key id "old"');
    expect(await rawStoreText(store?.url ?? "")).not.toContain(tag);
  }, 120_000);
});
