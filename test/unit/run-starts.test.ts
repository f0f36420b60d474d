/**
 * The SDK worker's run table at a fire instant (sdk/src/worker/runs.ts, executor.ts): runs sent
 * ahead start together when their fire time comes, every handler of that instant is called
 * before the first result of it is recorded, and what the call needs was made on admission.
 * A manual clock (vitest's fake timers) stands in for time.
 */
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  CancellationReason,
  RunAssignmentSchema,
  RunCancellationSchema,
  type RunAssignment,
  type RunResult,
} from "../../sdk/src/gen/metronome/v1/worker_service_pb.js";
import type { Handler, RunContext } from "../../sdk/src/handlers.js";
import type { WorkerLogger } from "../../sdk/src/logger.js";
import { Outbox } from "../../sdk/src/worker/results.js";
import { EARLY_WINDOW_MS, RunTable, startDelay } from "../../sdk/src/worker/runs.js";

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const FIRE = T0 + 100;

const silent: WorkerLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function assignment(i: number, fireTime: number, args: number[] = []): RunAssignment {
  return create(RunAssignmentSchema, {
    lease: { runId: `run-${String(i)}`, attempt: 1, leaseToken: `token-${String(i)}` },
    scheduler: "default",
    jobId: `job-${String(i)}`,
    jobName: `Job ${String(i)}`,
    handler: "h",
    args: { values: args.map((v) => ({ kind: { case: "numberValue" as const, value: v } })) },
    kwargs: { n: i },
    scheduledTime: timestampFromMs(fireTime),
    fireTime: timestampFromMs(fireTime),
    maxAttempts: 1,
  });
}

/** A run table whose handler `h` is `fn`; `log` lists handler calls, heartbeats and results. */
function table(fn: Handler): { runs: RunTable; log: string[] } {
  const log: string[] = [];
  const outbox = new Outbox((result: RunResult) => {
    const o = result.outcome;
    log.push(
      `result ${result.lease?.runId ?? "?"} ${o.case === "error" ? `error ${o.value.message}` : "ok"}`,
    );
  });
  const runs = new RunTable({
    log: silent,
    maxConcurrency: 0,
    handlers: new Map([
      [
        "h",
        {
          name: "h",
          fn: (args, kwargs, ctx) => {
            log.push(`start ${ctx.runId}`);
            return fn(args, kwargs, ctx);
          },
          concurrency: 0,
        },
      ],
    ]),
    outbox,
    heartbeat: () => {
      log.push("heartbeat");
    },
    changed: () => undefined,
  });
  return { runs, log };
}

describe("runs sent ahead, at their fire time", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("every handler of the instant is called before the first of their results is recorded", async () => {
    const thrown = new Error("sync failure");
    const { runs, log } = table((_args, kwargs) => {
      // One throws at once, one answers later, the others return at once.
      if (kwargs.n === 1) throw thrown;
      if (kwargs.n === 2) return Promise.resolve("later");
      return kwargs.n;
    });
    runs.assignAll([0, 1, 2, 3].map((i) => assignment(i, FIRE)));
    await vi.advanceTimersByTimeAsync(99);
    expect(log).toEqual([]);
    // Called in the fire time's timer callback itself, not a microtask later.
    vi.advanceTimersByTime(1);
    expect(log).toEqual(["start run-0", "start run-1", "start run-2", "start run-3"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(log.slice(4).sort()).toEqual([
      "result run-0 ok",
      "result run-1 error sync failure",
      "result run-2 ok",
      "result run-3 ok",
    ]);
    expect(runs.size).toBe(0);
    runs.close();
  });

  it("the handler gets the assignment's args, kwargs and context, made when it was admitted", async () => {
    const seen: { args: JsonValue[]; kwargs: JsonObject; ctx: RunContext }[] = [];
    const { runs } = table((args, kwargs, ctx) => {
      seen.push({ args, kwargs, ctx });
      return null;
    });
    runs.assignAll([assignment(7, FIRE, [4, 2])]);
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toHaveLength(1);
    const [{ args, kwargs, ctx }] = seen as [(typeof seen)[number]];
    expect(args).toEqual([4, 2]);
    expect(kwargs).toEqual({ n: 7 });
    expect(ctx).toMatchObject({ runId: "run-7", attempt: 1, jobId: "job-7", jobName: "Job 7" });
    expect(ctx.fireTime.getTime()).toBe(FIRE);
    expect(ctx.signal.aborted).toBe(false);
    runs.close();
  });

  it("a worker whose clock is behind the server's holds an early run no longer than the early window", async () => {
    // Fire times 20 s ahead of this worker's clock: the server sent them within its 0.5 s
    // window by its own clock, so they are due 0.5 s from now at the latest.
    const { runs, log } = table(() => "done");
    runs.assignAll([assignment(1, T0 + 20_000), assignment(2, T0 + 20_000)]);
    await vi.advanceTimersByTimeAsync(EARLY_WINDOW_MS - 1);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(["start run-1", "start run-2"]);
    // Within the window, the fire time by the worker's clock still decides.
    runs.assignAll([assignment(3, Date.now() + 300)]);
    await vi.advanceTimersByTimeAsync(299);
    expect(log).not.toContain("start run-3");
    vi.advanceTimersByTime(1);
    expect(log).toContain("start run-3");
    await vi.advanceTimersByTimeAsync(0);
    expect(runs.size).toBe(0);
    runs.close();
  });

  it("startDelay: the wait for a fire time, from 0 to the early window", () => {
    expect(startDelay(T0 + 120, T0)).toBe(120);
    expect(startDelay(T0 - 50, T0)).toBe(0);
    expect(startDelay(T0 + EARLY_WINDOW_MS, T0)).toBe(EARLY_WINDOW_MS);
    expect(startDelay(T0 + 20_000, T0)).toBe(EARLY_WINDOW_MS);
    expect(EARLY_WINDOW_MS).toBe(500); // docs/protocol.md: up to 0.5 s before the run is due
  });

  it("an assignment already due starts a microtask after the message that brought it", async () => {
    const { runs, log } = table(() => "done");
    runs.assignAll([assignment(1, T0 - 5), assignment(2, T0 - 5)]);
    // Not inside assignAll: the message's bookkeeping comes first.
    expect(log).toEqual([]);
    await Promise.resolve();
    expect(log.slice(0, 2)).toEqual(["start run-1", "start run-2"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(log.slice(2).sort()).toEqual(["result run-1 ok", "result run-2 ok"]);
    runs.close();
  });

  it("ctx.heartbeat() queues a heartbeat while the lease is the run's, and not once it was cancelled", async () => {
    let ctxOf: RunContext | undefined;
    const { runs, log } = table((_args, _kwargs, ctx) => {
      ctxOf = ctx;
      return new Promise(() => undefined);
    });
    runs.assignAll([assignment(3, FIRE)]);
    await vi.advanceTimersByTimeAsync(100);
    const ctx = ctxOf as RunContext;
    await ctx.heartbeat();
    expect(log).toEqual(["start run-3", "heartbeat"]);
    runs.cancel(
      create(RunCancellationSchema, {
        lease: { runId: "run-3", attempt: 1, leaseToken: "token-3" },
        reason: CancellationReason.CANCELLED,
      }),
    );
    expect(ctx.signal.aborted).toBe(true);
    await ctx.heartbeat();
    expect(log).toEqual(["start run-3", "heartbeat"]);
    runs.close();
  });
});
