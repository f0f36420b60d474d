/** The hand-out's decision (domain/hand-out.ts), which the SQL and Redis stores share. */
import { describe, expect, it } from "vitest";
import {
  foldPlan,
  handOut,
  type HandOutInput,
  waitedUnserved,
} from "../../server/src/domain/hand-out.js";
import { leased } from "../../server/src/domain/run-transitions.js";
import type { Run } from "../../server/src/domain/runs.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const grant = { workerId: "w", token: "tok", leaseMs: 10_000 };

let seq = 0;
function run(overrides: Partial<Run> = {}): Run {
  seq++;
  return {
    id: `r${String(seq)}`,
    scheduler: "default",
    jobId: "j",
    jobName: "J",
    handler: "h",
    scheduledTime: T0,
    fireTime: T0,
    manual: false,
    args: [],
    kwargs: {},
    timeoutMs: null,
    retry: null,
    maxInstances: 1,
    attempt: 1,
    status: "pending",
    statusReason: "",
    dueAt: T0,
    expiresAt: T0 + 60_000,
    workerId: null,
    leaseToken: null,
    leaseExpiresAt: null,
    deadlineAt: null,
    startedAt: null,
    finishedAt: null,
    result: undefined,
    error: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function decide(candidates: Run[], more: Partial<HandOutInput> = {}) {
  return handOut({
    now: T0,
    slots: new Map([["h", 10]]),
    candidates,
    running: () => 0,
    grant,
    ...more,
  });
}

const ids = (runs: readonly Run[]) => runs.map((r) => r.id);

describe("hand-out", () => {
  it("hands the due runs out earliest first, leased under the grant, within the handler's slots", () => {
    const late = run({ jobId: "a", dueAt: T0 - 1000 });
    const early = run({ jobId: "b", dueAt: T0 - 5000 });
    const third = run({ jobId: "c", dueAt: T0 - 2000 });
    const { taken, ended } = decide([late, early, third], { slots: new Map([["h", 2]]) });
    expect(taken).toEqual([leased(early, grant, T0), leased(third, grant, T0)]);
    expect(ended).toEqual([]);
  });

  it("records a run past its misfire grace as missed, whatever else applies", () => {
    const stale = run({ expiresAt: T0 - 1 });
    const { taken, ended } = decide([stale], { waits: () => true, slots: new Map() });
    expect(taken).toEqual([]);
    expect(ended).toMatchObject([{ id: stale.id, status: "missed" }]);
  });

  it("decides max_instances on the runs running and those it hands out", () => {
    const a = run({ jobId: "x", maxInstances: 2, dueAt: T0 - 3 });
    const b = run({ jobId: "x", maxInstances: 2, dueAt: T0 - 2 });
    const c = run({ jobId: "x", maxInstances: 2, dueAt: T0 - 1 });
    const { taken, ended } = decide([a, b, c], { running: (r) => (r.jobId === "x" ? 1 : 0) });
    expect(ids(taken)).toEqual([a.id]);
    expect(ended).toMatchObject([
      { id: b.id, status: "skipped", statusReason: "max_instances 2 reached" },
      { id: c.id, status: "skipped" },
    ]);
  });

  it("lets a retry wait for room instead of skipping it: max_instances skips fire times, not attempts", () => {
    const retry = run({ jobId: "x", attempt: 2, dueAt: T0 - 2 });
    const fire = run({ jobId: "x", attempt: 1, dueAt: T0 - 1 });
    const { taken, ended } = decide([retry, fire], {
      running: (r) => (r.jobId === "x" ? 1 : 0),
    });
    expect(taken).toEqual([]);
    expect(ended).toMatchObject([{ id: fire.id, status: "skipped" }]);
    // Once the job has room, the retry goes.
    expect(ids(decide([retry]).taken)).toEqual([retry.id]);
  });

  it("leases ahead only a first attempt of a job with none running; it starts at its due time", () => {
    const ahead = run({ jobId: "free", dueAt: T0 + 500 });
    const busy = run({ jobId: "busy", dueAt: T0 + 500 });
    const retry = run({ jobId: "retry", dueAt: T0 + 500, attempt: 2 });
    const { taken, ended } = decide([ahead, busy, retry], {
      running: (r) => (r.jobId === "busy" ? 1 : 0),
    });
    expect(ids(taken)).toEqual([ahead.id]);
    expect(taken[0]).toMatchObject({ startedAt: T0 + 500, leaseExpiresAt: T0 + 10_500 });
    expect(ended).toEqual([]); // neither is skipped: they wait for their time
  });

  it("decides max_instances for a handler without a free slot too: skipped, or left to wait for a slot", () => {
    // The node reads a busy handler's first attempts as they come due (LeaseRequest.busy).
    const full = run({ jobId: "full" });
    const room = run({ jobId: "room" });
    const retry = run({ jobId: "full", attempt: 2 });
    const { taken, ended } = decide([full, room, retry], {
      slots: new Map(),
      running: (r) => (r.jobId === "full" ? 1 : 0),
    });
    expect(taken).toEqual([]);
    expect(ended).toMatchObject([
      { id: full.id, status: "skipped", statusReason: "max_instances 1 reached" },
    ]);
  });

  it("folds a coalescing job's due fires into its latest due one: missed, not run, no slot taken", () => {
    // The worker was away while three fire times came: the store says the latest is T0.
    const a = run({ jobId: "co", scheduledTime: T0 - 2000, fireTime: T0 - 2000, dueAt: T0 - 2000 });
    const b = run({ jobId: "co", scheduledTime: T0 - 1000, fireTime: T0 - 1000, dueAt: T0 - 1000 });
    const c = run({ jobId: "co", scheduledTime: T0, fireTime: T0, dueAt: T0 });
    const { taken, ended } = decide([c, b, a], {
      slots: new Map([["h", 1]]),
      latestDue: (r) => (r.jobId === "co" ? T0 : undefined),
    });
    expect(ids(taken)).toEqual([c.id]);
    expect(ended).toEqual([
      expect.objectContaining({
        id: a.id,
        status: "missed",
        statusReason: "coalesced into the run of 2026-03-02T08:00:00.000Z",
        dueAt: null,
        expiresAt: null,
        finishedAt: T0,
      }),
      expect.objectContaining({ id: b.id, status: "missed" }),
    ]);
  });

  it("folds before max_instances, and only due scheduled first attempts of a job with a later due fire", () => {
    const later = (jobId: string) => (jobId === "co" ? T0 : undefined);
    const into = (t: number) => `coalesced into the run of ${new Date(t).toISOString()}`;
    const waited = run({ jobId: "co", scheduledTime: T0 - 1000, dueAt: T0 - 1000 });
    const manual = run({ jobId: "co", scheduledTime: T0 - 900, dueAt: T0 - 900, manual: true });
    const retry = run({ jobId: "co", scheduledTime: T0 - 800, dueAt: T0 - 800, attempt: 2 });
    // Jittered: its nominal time is before the latest, but it is not due yet.
    const ahead = run({ jobId: "co", scheduledTime: T0 - 700, dueAt: T0 + 300 });
    const alone = run({ jobId: "alone", scheduledTime: T0 - 1000, dueAt: T0 - 1000 });
    const { taken, ended } = decide([waited, manual, retry, ahead, alone], {
      running: (r) => (r.jobId === "co" ? 1 : 0),
      latestDue: (r) => later(r.jobId),
    });
    // With a run of its job running, the waited fire would be skipped: it folds instead.
    expect(ended).toMatchObject([
      { id: waited.id, status: "missed", statusReason: into(T0) },
      { id: manual.id, status: "skipped" },
    ]);
    // The retry waits for room; the run ahead waits for its job to have none running.
    expect(ids(taken)).toEqual([alone.id]);
    // The latest fire itself is not folded, nor a run of a job the store has no later fire for.
    const latest = run({ jobId: "co", scheduledTime: T0, dueAt: T0 });
    expect(ids(decide([latest], { latestDue: (r) => later(r.jobId) }).taken)).toEqual([latest.id]);
  });

  it("has the store read a job's later fires only for a fire that came due before its handler was served", () => {
    const since = new Map([["h", T0 - 500]]);
    expect(waitedUnserved(run({ dueAt: T0 - 1000 }), T0, since)).toBe(true);
    // Due while a worker here served the handler (its slots taken): max_instances decides.
    expect(waitedUnserved(run({ dueAt: T0 - 500 }), T0, since)).toBe(false);
    expect(waitedUnserved(run({ dueAt: T0 - 1000, handler: "other" }), T0, since)).toBe(false);
    expect(waitedUnserved(run({ dueAt: T0 - 1000 }), T0, undefined)).toBe(false);
    expect(waitedUnserved(run({ dueAt: T0 - 1000, manual: true }), T0, since)).toBe(false);
    expect(waitedUnserved(run({ dueAt: T0 - 1000, attempt: 2 }), T0, since)).toBe(false);
  });

  it("plans a fold per job: the earlier fires and the latest, or only the oldest earlier ones past the limit", () => {
    const fire = (id: string, job: string, at: number) => ({ id, job, scheduledTime: at });
    const plan = foldPlan(
      [
        fire("a2", "a", T0 + 2), // in any order
        fire("a1", "a", T0 + 1),
        fire("a3", "a", T0 + 3),
        fire("b1", "b", T0), // alone: nothing to fold
        ...[1, 2, 3, 4].map((i) => fire(`c${String(i)}`, "c", T0 + i)),
      ],
      2,
    );
    expect(plan.latest).toEqual(
      new Map([
        ["a", T0 + 3],
        ["c", T0 + 4],
      ]),
    );
    // Job c has three earlier fires, past the limit of 2: its latest waits for the next pass.
    expect(plan.take).toEqual(["a1", "a2", "a3", "c1", "c2"]);
  });

  it("leaves the runs its store says must wait, and the runs of handlers without a slot", () => {
    const locked = run({ jobId: "locked" });
    const other = run({ jobId: "o", handler: "other" });
    const go = run({ jobId: "go" });
    const { taken, ended } = decide([locked, other, go], {
      waits: (r) => r.jobId === "locked",
    });
    expect(ids(taken)).toEqual([go.id]);
    expect(ended).toEqual([]);
  });
});
