/**
 * `@metronome/sdk/testing` (sdk/src/testing/): handlers tested without a server. `runHandler`
 * answers what the run would record — the JSON result, the stored error with its type and
 * retryability, the errors for results that cannot be stored, nothing when the run was aborted
 * — and `createRunContext` gives a context whose signal the test fires and which records
 * heartbeats and log lines.
 */
import { describe, expect, it } from "vitest";
import { NonRetryableError, RunAbortedError, defineHandler, type Handler } from "@metronome/sdk";
import { createRunContext, runHandler } from "@metronome/sdk/testing";

const processUser = defineHandler(
  "users.process",
  async ([userId]: [string], { action = "default" }: { action?: string }, ctx) => {
    ctx.log.info({ userId }, "processing");
    await ctx.heartbeat();
    return {
      userId,
      action,
      at: new Date(Date.UTC(2030, 0, 1)),
      last: ctx.attempt === ctx.maxAttempts,
    };
  },
);

/** Waits for its signal, then returns, throws the reason, or ignores it, as `how` says. */
const waiter = defineHandler(
  "test.wait",
  async (_args: [], { how }: { how: "return" | "rethrow" }, ctx) => {
    await new Promise<void>((resolve) => {
      ctx.signal.addEventListener("abort", () => {
        resolve();
      });
    });
    if (how === "rethrow") ctx.signal.throwIfAborted();
    return "after abort";
  },
);

describe("runHandler", () => {
  it("a result is what the server stores (as JSON); the context records logs and heartbeats", async () => {
    const outcome = await runHandler(processUser, {
      args: ["user123"],
      kwargs: { action: "sync" },
      context: { attempt: 3, maxAttempts: 3, runId: "r-1" },
    });
    expect(outcome).toMatchObject({
      status: "succeeded",
      result: { userId: "user123", action: "sync", at: "2030-01-01T00:00:00.000Z", last: true },
    });
    expect(outcome.context.heartbeats).toBe(1);
    expect(outcome.context.logs).toEqual([
      {
        level: "info",
        msg: "processing",
        fields: {
          runId: "r-1",
          attempt: 3,
          handler: "users.process",
          jobId: "test-job",
          userId: "user123",
        },
      },
    ]);
  });

  it("a thrown error is stored with its type, message and retryability", async () => {
    class QuotaError extends Error {}
    const failing = defineHandler("test.fail", () => {
      throw new QuotaError("over quota");
    });
    const fatal = defineHandler("test.fatal", () => {
      throw new NonRetryableError("never works");
    });
    expect(await runHandler(failing)).toMatchObject({
      status: "failed",
      error: { type: "QuotaError", message: "over quota", nonRetryable: false },
    });
    expect(await runHandler(fatal)).toMatchObject({
      status: "failed",
      error: { type: "NonRetryableError", message: "never works", nonRetryable: true },
    });
  });

  it("a result that cannot be stored fails the run, not retried", async () => {
    const bigint = defineHandler("test.bigint", () => ({ n: 1n }));
    const huge = defineHandler("test.huge", () => "x".repeat(70_000));
    const none = defineHandler("test.none", () => undefined);
    expect(await runHandler(bigint)).toMatchObject({
      status: "failed",
      error: {
        type: "ResultNotSerializable",
        message: "result.n is a bigint; convert it to a number or a string",
        nonRetryable: true,
      },
    });
    expect(await runHandler(huge)).toMatchObject({
      status: "failed",
      error: { type: "ResultTooLarge", nonRetryable: true },
    });
    expect(await runHandler(none)).toMatchObject({ status: "succeeded", result: undefined });
  });

  it("an aborted run's outcome is dropped, except when the worker is stopping", async () => {
    for (const kind of ["cancelled", "timed_out", "lease_lost"] as const) {
      const context = createRunContext();
      const running = runHandler(waiter, { kwargs: { how: "return" }, context });
      context.abort(kind);
      const outcome = await running;
      expect(outcome.status).toBe("dropped");
      if (outcome.status !== "dropped") continue;
      expect(outcome.reason).toBeInstanceOf(RunAbortedError);
      expect(outcome.reason.kind).toBe(kind);
    }
    const context = createRunContext();
    const stopping = runHandler(waiter, { kwargs: { how: "rethrow" }, context });
    context.abort("stopping");
    expect(await stopping).toMatchObject({
      status: "failed",
      error: { type: "RunAbortedError", message: "worker stopping", nonRetryable: false },
    });
  });

  it("plain handler functions too; the arguments are copies", async () => {
    const args = [{ n: 1 }];
    const mutating: Handler = (a) => {
      (a[0] as { n: number }).n = 2;
      return a;
    };
    expect(await runHandler(mutating, { args })).toMatchObject({
      status: "succeeded",
      result: [{ n: 2 }],
    });
    expect(args).toEqual([{ n: 1 }]);
  });
});

describe("createRunContext", () => {
  it("has the defaults of a first attempt, or what the options say", () => {
    const now = Date.now();
    const ctx = createRunContext();
    expect(ctx).toMatchObject({
      runId: "test-run",
      attempt: 1,
      maxAttempts: 1,
      scheduler: "default",
      jobId: "test-job",
      jobName: "test-job",
      handler: "test.handler",
      manual: false,
      timeoutMs: null,
    });
    expect(ctx.scheduledTime.getTime()).toBeGreaterThanOrEqual(now);
    expect(ctx.fireTime).toEqual(ctx.scheduledTime);
    expect(ctx.signal.aborted).toBe(false);
    const at = new Date(Date.UTC(2030, 0, 1));
    expect(
      createRunContext({ manual: true, timeoutMs: 500, scheduledTime: at, jobName: "Nightly" }),
    ).toMatchObject({
      manual: true,
      timeoutMs: 500,
      scheduledTime: at,
      fireTime: at,
      jobName: "Nightly",
    });
  });

  it("abort() fires the signal once, with the worker's reason and message", () => {
    const ctx = createRunContext();
    ctx.abort("timed_out");
    ctx.abort("cancelled");
    expect(ctx.signal.reason).toBeInstanceOf(RunAbortedError);
    expect(ctx.signal.reason).toMatchObject({ kind: "timed_out", message: "run timed out" });
    const custom = createRunContext();
    custom.abort("cancelled", "run cancelled: by the operator");
    expect(custom.signal.reason).toMatchObject({ message: "run cancelled: by the operator" });
  });

  it("a child logger records with its bindings too", () => {
    const ctx = createRunContext({ runId: "r-2" });
    ctx.log.child?.({ step: "fetch" }).warn("slow");
    ctx.log.error({ code: 7 });
    expect(ctx.logs).toEqual([
      {
        level: "warn",
        msg: "slow",
        fields: {
          runId: "r-2",
          attempt: 1,
          handler: "test.handler",
          jobId: "test-job",
          step: "fetch",
        },
      },
      {
        level: "error",
        msg: undefined,
        fields: { runId: "r-2", attempt: 1, handler: "test.handler", jobId: "test-job", code: 7 },
      },
    ]);
  });
});
