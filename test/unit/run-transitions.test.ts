/** The run state machine (domain/run-transitions.ts): which moves exist, and what each changes. */
import { describe, expect, it } from "vitest";
import {
  attemptFailed,
  canTransition,
  cancelled,
  handedBack,
  isFinal,
  leased,
  leaseExpired,
  missed,
  skippedForMaxInstances,
  succeeded,
  timedOut,
  TRANSITIONS,
} from "../../server/src/domain/run-transitions.js";
import { manualRun, type Run, type RunStatus } from "../../server/src/domain/runs.js";
import { compileTrigger } from "../../server/src/domain/triggers/index.js";
import { jobRecord } from "../support/job-record.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");

const JOB = jobRecord({
  coalesce: false,
  timeoutMs: 30_000,
  retry: { maxAttempts: 2, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 },
});

const pending = (): Run =>
  manualRun(JOB, compileTrigger(JOB.trigger), { now: T0, newId: () => "r1" });
const grant = { workerId: "w", token: "tok", leaseMs: 10_000 };
const error = { message: "boom", type: "Error", stack: "", nonRetryable: false };

describe("run transitions", () => {
  it("the table: ended runs go nowhere; running may go back to pending (retry, hand-back)", () => {
    const ended: RunStatus[] = [
      "succeeded",
      "failed",
      "timed_out",
      "cancelled",
      "missed",
      "skipped",
    ];
    for (const s of ended) expect(isFinal(s)).toBe(true);
    expect(isFinal("pending")).toBe(false);
    expect(canTransition("running", "pending")).toBe(true);
    expect(canTransition("pending", "succeeded")).toBe(false);
    expect(Object.keys(TRANSITIONS)).toHaveLength(8);
  });

  it("a move that is not a transition throws", () => {
    const done = succeeded(leased(pending(), grant, T0), "ok", T0 + 5);
    expect(() => cancelled(done, "", T0 + 6)).toThrow(/succeeded -> cancelled/);
    expect(() => succeeded(pending(), 1, T0)).toThrow(/pending -> succeeded/);
  });

  it("lease: starts now, or at its due time when leased ahead; lease and timeout count from it", () => {
    const now = leased(pending(), grant, T0 + 100);
    expect(now).toMatchObject({
      status: "running",
      workerId: "w",
      leaseToken: "tok",
      startedAt: T0 + 100,
      leaseExpiresAt: T0 + 10_100,
      deadlineAt: T0 + 30_100,
      dueAt: null,
      updatedAt: T0 + 100,
    });
    const ahead = leased(pending(), grant, T0 - 400);
    expect(ahead).toMatchObject({ startedAt: T0, leaseExpiresAt: T0 + 10_000 });
    // Handed back before it was sent: pending again, due when it was to start.
    expect(handedBack(ahead, T0 - 100)).toMatchObject({
      status: "pending",
      dueAt: T0,
      startedAt: null,
      workerId: null,
      leaseToken: null,
      leaseExpiresAt: null,
      deadlineAt: null,
      attempt: 1,
    });
  });

  it("results: success records the value (null for none); a failure retries, then fails", () => {
    const running = leased(pending(), grant, T0);
    expect(succeeded(running, undefined, T0 + 1)).toMatchObject({
      result: null,
      finishedAt: T0 + 1,
    });
    const retry = attemptFailed(running, error, T0 + 2);
    expect(retry).toMatchObject({
      status: "pending",
      attempt: 2,
      dueAt: T0 + 1002,
      statusReason: "attempt 1 failed (Error); retrying",
      leaseToken: null,
    });
    const second = leased(retry, grant, T0 + 1002);
    expect(attemptFailed(second, error, T0 + 1003)).toMatchObject({
      status: "failed",
      statusReason: "Error",
      finishedAt: T0 + 1003,
    });
    expect(attemptFailed(running, { ...error, nonRetryable: true }, T0 + 2)).toMatchObject({
      status: "failed",
      statusReason: "Error: not retryable",
    });
    expect(leaseExpired(running, T0 + 3).error).toMatchObject({
      type: "LeaseExpired",
      message: "the lease of worker w expired (no heartbeat)",
    });
  });

  it("timeout, cancel, misfire and max_instances, with their reasons", () => {
    const running = leased(pending(), grant, T0);
    expect(timedOut(running, T0 + 30_000)).toMatchObject({
      status: "timed_out",
      statusReason: "timeout of 30s passed",
      error: { type: "TimeoutError", nonRetryable: true },
    });
    expect(cancelled(running, "", T0 + 1)).toMatchObject({
      status: "cancelled",
      statusReason: "cancelled",
      leaseExpiresAt: null,
    });
    expect(cancelled(pending(), "job removed", T0 + 1).statusReason).toBe("job removed");
    expect(missed(pending(), T0 + 61_000)).toMatchObject({
      status: "missed",
      statusReason: "no worker took it within its misfire grace (due 2026-03-02T08:00:00.000Z)",
      expiresAt: null,
    });
    expect(skippedForMaxInstances(pending(), 0, T0)).toBeNull();
    expect(skippedForMaxInstances(pending(), 1, T0)).toMatchObject({
      status: "skipped",
      statusReason: "max_instances 1 reached",
    });
  });
});
