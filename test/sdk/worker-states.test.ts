/**
 * The SDK worker's state machine against a scripted server (scripted-server.ts: a real HTTP/2
 * server on port 0 whose WorkerService plays what each test says): hello and welcome,
 * assignments and their results, heartbeats, cancellations, a lease lost on resumption and by
 * the worker's own watchdog, the stream ending and the worker reconnecting, results sent again,
 * fatal and retryable failures before the first welcome, and the drain on stop(). Each test
 * asserts the worker's transitions and the messages it sent, in order. Nothing sleeps: tests
 * wait for the worker's messages, its `state` events and its handlers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  CancellationReason,
  type RunResult,
} from "../../sdk/src/gen/metronome/v1/worker_service_pb.js";
import {
  RunAbortedError,
  UnauthenticatedError,
  Worker,
  type RunContext,
  type WorkerOptions,
  type WorkerState,
} from "@metronome/sdk";
import { canTransition } from "../../sdk/src/worker/state.js";
import { Queue, startScriptedServer, type ScriptedServer } from "./scripted-server.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A promise and its resolve function. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The worker's states, from `idle`, and a way to wait for one. */
function watchStates(worker: Worker) {
  const seen: WorkerState[] = [worker.state];
  const waiters: { state: WorkerState; resolve: () => void }[] = [];
  worker.on("state", ({ from, to }) => {
    expect(from).toBe(seen[seen.length - 1]);
    seen.push(to);
    for (const w of waiters.filter((x) => x.state === to)) w.resolve();
  });
  return {
    seen,
    until(state: WorkerState): Promise<void> {
      if (worker.state === state) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ state, resolve }));
    },
  };
}

/** The reason of the handler's abort signal, once it fires. */
function abortReason(ctx: RunContext | undefined): Promise<unknown> {
  if (ctx === undefined) throw new Error("no handler started");
  const { signal } = ctx;
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => {
      resolve(signal.reason);
    });
  });
}

/** The value of a success result, or the error of a failed one. */
function outcomeOf(r: RunResult): unknown {
  if (r.outcome.case === "success")
    return r.outcome.value.resultJson !== ""
      ? { value: JSON.parse(r.outcome.value.resultJson) as unknown }
      : r.outcome.value.result === undefined
        ? null
        : { value: toJson(ValueSchema, r.outcome.value.result) };
  return { error: r.outcome.value };
}

describe("the SDK worker's state machine against a scripted server", () => {
  let server: ScriptedServer;
  const workers: Worker[] = [];
  /** Handlers that started, with their context; `hold` waits for `release` or its signal. */
  let started: Queue<RunContext>;
  let release: ReturnType<typeof deferred<string>>;

  function newWorker(options: Partial<WorkerOptions> = {}): Worker {
    const worker = new Worker({
      baseUrl: server.url,
      workerId: "scripted-worker",
      logger: quiet,
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
      ...options,
    });
    worker.register("echo", (args, kwargs, ctx) => {
      started.push(ctx);
      return { args, kwargs };
    });
    worker.register("hold", async (_args, kwargs, ctx) => {
      started.push(ctx);
      if (kwargs.heartbeat === true) await ctx.heartbeat();
      const aborted = new Promise<string>((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          resolve(kwargs.throwOnAbort === true ? "throw" : "aborted");
        });
      });
      const how = await Promise.race([release.promise, aborted]);
      if (how === "throw") ctx.signal.throwIfAborted();
      return how;
    });
    workers.push(worker);
    return worker;
  }

  beforeEach(async () => {
    server = await startScriptedServer();
    started = new Queue<RunContext>();
    release = deferred<string>();
  });
  afterEach(async () => {
    release.resolve("released");
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
    await server.close();
  });

  it("the transition table: every state is reachable from idle and stopped is final", () => {
    const states: WorkerState[] = [
      "idle",
      "connecting",
      "connected",
      "backoff",
      "draining",
      "closing",
      "stopped",
    ];
    const reached = new Set<WorkerState>(["idle"]);
    for (let grew = true; grew;) {
      grew = false;
      for (const from of [...reached])
        for (const to of states)
          if (canTransition(from, to) && !reached.has(to)) {
            reached.add(to);
            grew = true;
          }
    }
    expect([...reached].sort()).toEqual([...states].sort());
    expect(states.filter((to) => canTransition("stopped", to))).toEqual([]);
    expect(canTransition("connected", "connecting")).toBe(false); // always through backoff
    expect(canTransition("draining", "connected")).toBe(false); // draining only ends
  });

  it("hello, welcome: connected; stop() drains, half-closes and stops", async () => {
    const worker = newWorker({ maxConcurrency: 3, labels: { team: "ops" } });
    const states = watchStates(worker);
    const connected = deferred<{ workerId: string; sessionId: string }>();
    worker.on("connected", connected.resolve);
    const starting = worker.start();
    const s = await server.nextSession();
    const hello = await s.expect("hello");
    expect(hello).toMatchObject({
      workerId: "scripted-worker",
      handlers: [
        { handler: "echo", maxConcurrency: 0 },
        { handler: "hold", maxConcurrency: 0 },
      ],
      maxConcurrency: 3,
      resumedLeases: [],
      acceptsEarlyAssignments: true,
    });
    expect(hello.labels).toMatchObject({ team: "ops", sdk: "metronome-typescript" });
    expect(worker.state).toBe("connecting");
    s.welcome({ sessionId: "session-a", workerId: "given-by-server" });
    await starting;
    expect(await connected.promise).toEqual({
      workerId: "given-by-server",
      sessionId: "session-a",
    });
    expect([worker.state, worker.workerId, worker.sessionId]).toEqual([
      "connected",
      "given-by-server",
      "session-a",
    ]);

    await worker.stop();
    expect(await s.rest()).toEqual(["drain"]);
    expect(states.seen).toEqual([
      "idle",
      "connecting",
      "connected",
      "draining",
      "closing",
      "stopped",
    ]);
    expect(worker.sessionId).toBeUndefined();
  });

  it("an assignment runs its handler with its context; the result waits for its answer", async () => {
    const worker = newWorker();
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const fireTime = Date.now() - 1000;
    const lease = s.assign({
      handler: "echo",
      runId: "run-echo",
      attempt: 2,
      args: [1, "a"],
      kwargs: { k: true },
      fireTime,
      scheduledTime: fireTime - 500,
      timeoutMs: 5000,
      maxAttempts: 3,
    });
    const ctx = await started.next();
    expect(ctx).toMatchObject({
      runId: "run-echo",
      attempt: 2,
      maxAttempts: 3,
      scheduler: "default",
      jobId: "job-echo",
      jobName: "Job echo",
      handler: "echo",
      scheduledTime: new Date(fireTime - 500),
      fireTime: new Date(fireTime),
      manual: false,
      timeoutMs: 5000,
    });
    expect(ctx?.signal.aborted).toBe(false);
    const result = await s.expect("result");
    expect(result.lease).toEqual(lease);
    expect(outcomeOf(result)).toEqual({ value: { args: [1, "a"], kwargs: { k: true } } });

    // stop() waits for the answer: the drain goes out, then the stream closes once answered.
    const stopping = worker.stop();
    expect(await s.expect("drain")).toEqual({ $typeName: "metronome.v1.WorkerDrain" });
    expect(worker.state).toBe("draining");
    s.accept(lease);
    await stopping;
    expect(await s.rest()).toEqual([]);
  });

  it("ctx.heartbeat() sends the held leases at once", async () => {
    const worker = newWorker();
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const lease = s.assign({ handler: "hold", kwargs: { heartbeat: true } });
    expect((await s.expect("heartbeat")).activeLeases).toEqual([lease]);
    release.resolve("done");
    expect(outcomeOf(await s.expect("result"))).toEqual({ value: "done" });
    s.accept(lease);
    await worker.stop();
  });

  it.each([
    [CancellationReason.CANCELLED, "cancelled", "run cancelled: by the operator"],
    [CancellationReason.TIMED_OUT, "timed_out", "run timed out: by the operator"],
  ] as const)(
    "a cancellation (%s) aborts the handler with its reason; its result is dropped",
    async (reason, kind, message) => {
      const worker = newWorker();
      const states = watchStates(worker);
      const starting = worker.start();
      const s = await server.nextSession();
      await s.expect("hello");
      s.welcome();
      await starting;
      const lease = s.assign({ handler: "hold" });
      const ctx = await started.next();
      s.cancel(lease, reason, "by the operator");
      const why = await abortReason(ctx);
      expect(why).toBeInstanceOf(RunAbortedError);
      expect(why).toMatchObject({ kind, message });
      await worker.stop();
      // The handler returned "aborted"; nothing was reported for the lease.
      expect(await s.rest()).toEqual(["drain"]);
      expect(states.seen.slice(-3)).toEqual(["draining", "closing", "stopped"]);
    },
  );

  it("the stream ends: backoff, reconnect, the held lease is resumed and then lost", async () => {
    const worker = newWorker();
    const states = watchStates(worker);
    const disconnected = deferred<{ sessionId: string; error: Error | undefined }>();
    worker.on("disconnected", disconnected.resolve);
    const starting = worker.start();
    const s1 = await server.nextSession();
    await s1.expect("hello");
    s1.welcome({ sessionId: "first" });
    await starting;
    const lease = s1.assign({ handler: "hold" });
    const ctx = await started.next();

    s1.end();
    expect(await disconnected.promise).toEqual({ sessionId: "first", error: undefined });
    const s2 = await server.nextSession();
    const hello = await s2.expect("hello");
    expect(hello.resumedLeases).toEqual([lease]);
    expect(worker.state).toBe("connecting");
    s2.welcome({ sessionId: "second" });
    // Resumed leases are extended at once, not one interval later.
    expect((await s2.expect("heartbeat")).activeLeases).toEqual([lease]);
    expect(worker.state).toBe("connected");
    s2.cancel(
      lease,
      CancellationReason.LEASE_LOST,
      "the lease expired before the worker resumed it",
    );
    expect(await abortReason(ctx)).toMatchObject({
      kind: "lease_lost",
      message: "lease lost: the lease expired before the worker resumed it",
    });
    await worker.stop();
    expect(await s2.rest()).toEqual(["drain"]);
    expect(states.seen).toEqual([
      "idle",
      "connecting",
      "connected",
      "backoff",
      "connecting",
      "connected",
      "draining",
      "closing",
      "stopped",
    ]);
  });

  it("a result not answered when the stream breaks is sent again after the next welcome", async () => {
    const worker = newWorker();
    const starting = worker.start();
    const s1 = await server.nextSession();
    await s1.expect("hello");
    s1.welcome();
    await starting;
    const lease = s1.assign({ handler: "echo", args: ["once"] });
    const first = await s1.expect("result");
    s1.fail(Code.Unavailable, "the node is restarting");

    const s2 = await server.nextSession();
    expect((await s2.expect("hello")).resumedLeases).toEqual([]); // the run finished
    s2.welcome();
    const again = await s2.expect("result");
    expect(again).toEqual(first);
    expect(again.lease).toEqual(lease);
    s2.accept(lease);
    await worker.stop();
    expect(await s2.rest()).toEqual(["drain"]);
  });

  it("the watchdog: a lease no heartbeat extended for a lease duration is lost", async () => {
    const worker = newWorker();
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    // Heartbeats every hour, leases of 300 ms: none is extended in time.
    s.welcome({ leaseMs: 300 });
    await starting;
    s.assign({ handler: "hold" });
    const ctx = await started.next();
    expect(await abortReason(ctx)).toMatchObject({
      kind: "lease_lost",
      message: "lease lost: not extended for 300 ms (no heartbeat reached the server)",
    });
    await worker.stop();
    expect(await s.rest()).toEqual(["drain"]);
  });

  it("stop() drains: the running handler finishes and reports before the stream closes", async () => {
    const worker = newWorker();
    const states = watchStates(worker);
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const lease = s.assign({ handler: "hold" });
    await started.next();
    const stopping = worker.stop();
    await s.expect("drain");
    await states.until("draining");
    release.resolve("finished");
    expect(outcomeOf(await s.expect("result"))).toEqual({ value: "finished" });
    expect(worker.state).toBe("draining"); // until the result is answered
    s.accept(lease);
    await stopping;
    expect(await s.rest()).toEqual([]);
  });

  it("stop()'s grace runs out: the handler is aborted and what it throws is reported", async () => {
    const worker = newWorker();
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const lease = s.assign({ handler: "hold", kwargs: { throwOnAbort: true } });
    const ctx = await started.next();
    const stopping = worker.stop({ graceMs: 0 });
    await s.expect("drain");
    const result = await s.expect("result");
    expect(ctx?.signal.reason).toMatchObject({ kind: "stopping", message: "worker stopping" });
    expect(outcomeOf(result)).toMatchObject({
      error: { type: "RunAbortedError", message: "worker stopping", nonRetryable: false },
    });
    s.accept(lease);
    await stopping;
  });

  it("assignments it cannot take are rejected as retryable WorkerRejected errors", async () => {
    const worker = newWorker({ maxConcurrency: 1 });
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const unknown = s.assign({ handler: "nobody" });
    const r1 = await s.expect("result");
    expect(r1.lease).toEqual(unknown);
    expect(outcomeOf(r1)).toMatchObject({
      error: {
        type: "WorkerRejected",
        message: 'handler "nobody" is not registered on this worker',
        nonRetryable: false,
      },
    });
    s.accept(unknown);
    const held = s.assign({ handler: "hold" });
    await started.next();
    const over = s.assign({ handler: "echo" });
    const r2 = await s.expect("result");
    expect(r2.lease).toEqual(over);
    expect(outcomeOf(r2)).toMatchObject({
      error: {
        type: "WorkerRejected",
        message: `over the worker's concurrency limit (1 runs held, 0 of "echo")`,
      },
    });
    s.accept(over);
    release.resolve("done");
    await s.expect("result");
    s.accept(held);
    await worker.stop();
  });

  it("a cancelled handler still running keeps its slot: the next run waits for it, then starts", async () => {
    const waiting = deferred();
    const worker = newWorker({
      maxConcurrency: 1,
      logger: {
        ...quiet,
        info: (_fields: unknown, message?: string) => {
          if (message?.startsWith("waiting for a cancelled handler") === true) waiting.resolve();
        },
      },
    });
    const stubborn = deferred<string>();
    let stubbornReturned = false;
    let returnedBeforeNext: boolean | undefined;
    worker.register("stubborn", async (_args, _kwargs, ctx) => {
      started.push(ctx);
      const value = await stubborn.promise; // ignores its abort signal
      stubbornReturned = true;
      return value;
    });
    worker.register("next", (_args, _kwargs, ctx) => {
      returnedBeforeNext = stubbornReturned;
      started.push(ctx);
      return "next ran";
    });
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const a = s.assign({ handler: "stubborn", runId: "run-a" });
    const ctx = await started.next();
    expect(ctx?.runId).toBe("run-a");
    s.cancel(a, CancellationReason.CANCELLED);
    await abortReason(ctx);
    // Its lease is no longer held, so the next run is taken, not rejected over the limit; its
    // handler waits for the cancelled one to return (the slot is still taken).
    const b = s.assign({ handler: "next", runId: "run-b" });
    await waiting.promise;
    stubborn.resolve("late");
    expect((await started.next())?.runId).toBe("run-b");
    expect(returnedBeforeNext).toBe(true);
    const result = await s.expect("result");
    expect(result.lease).toEqual(b);
    expect(outcomeOf(result)).toEqual({ value: "next ran" });
    s.accept(b);
    await worker.stop();
    expect(await s.rest()).toEqual(["drain"]);
  });

  it("an assignment sent ahead starts at its fire time", async () => {
    const worker = newWorker();
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.welcome();
    await starting;
    const fireTime = Date.now() + 200;
    const lease = s.assign({ handler: "echo", fireTime });
    await started.next();
    expect(Date.now()).toBeGreaterThanOrEqual(fireTime);
    await s.expect("result");
    s.accept(lease);
    await worker.stop();
  });

  it("a fatal error before the first welcome rejects start(): connecting → stopped", async () => {
    const worker = newWorker();
    const states = watchStates(worker);
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    s.fail(Code.Unauthenticated, "missing or wrong bearer token");
    await expect(starting).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(states.seen).toEqual(["idle", "connecting", "stopped"]);
    await worker.stop(); // nothing left to do
    expect(worker.state).toBe("stopped");
  });

  it("a retryable error before the first welcome: backoff, then connecting again", async () => {
    const worker = newWorker();
    const states = watchStates(worker);
    const errors: Error[] = [];
    worker.on("error", (e) => errors.push(e));
    const starting = worker.start();
    const s1 = await server.nextSession();
    await s1.expect("hello");
    s1.fail(Code.Unavailable, "not ready");
    const s2 = await server.nextSession();
    await s2.expect("hello");
    s2.welcome();
    await starting;
    expect(errors.map((e) => e.message)).toEqual(["[unavailable] not ready"]);
    expect(states.seen).toEqual(["idle", "connecting", "backoff", "connecting", "connected"]);
  });

  it("stop() before the first welcome rejects start(): connecting → closing → stopped", async () => {
    const worker = newWorker();
    const states = watchStates(worker);
    const starting = worker.start();
    const s = await server.nextSession();
    await s.expect("hello");
    const stopping = worker.stop();
    await expect(starting).rejects.toThrow(
      "Worker.start: stop() was called before the worker connected",
    );
    await stopping;
    await s.requestsEnded;
    expect(states.seen).toEqual(["idle", "connecting", "closing", "stopped"]);
  });

  it("stop() before start(): idle → stopped, and start() then rejects", async () => {
    const worker = newWorker();
    await worker.stop();
    expect(worker.state).toBe("stopped");
    await expect(worker.start()).rejects.toThrow("Worker.start: worker is stopped");
  });
});
