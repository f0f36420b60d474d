/**
 * A batch of events as its event_log row stores it (store/sql/events/batch-text.ts): read back,
 * it is what a JSON array of the whole events reads back as — on generated batches whose events
 * share some fields and differ in others, mixed types, objects in the data, nulls, one event
 * alone. Rows written before the format (arrays) are read as they are; the shared form of a
 * lease's events is a fraction of the array's bytes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES, runEvents, type EventDraft } from "../../server/src/domain/events.js";
import type { Run } from "../../server/src/domain/runs.js";
import {
  batchText,
  bytesPerEvent,
  eventsOfText,
} from "../../server/src/store/sql/events/batch-text.js";
import { job, pendingRun, T0 } from "../store/contract/fixtures.js";

const PARAMS = {
  numRuns: Number(process.env.ENCODING_RUNS ?? 300),
  seed: Number(process.env.ENCODING_SEED ?? 20_261_206),
};

/** A few values per field, so that batches often share them and sometimes do not. */
const few = <T>(...values: T[]) => fc.constantFrom(...values);
const json = fc.jsonValue({ maxDepth: 2 });

const draft: fc.Arbitrary<EventDraft> = fc.record({
  type: few(...EVENT_TYPES.slice(0, 3)),
  time: few(1_700_000_000_000, 1_700_000_000_001),
  scheduler: few("default", "billing", null),
  jobId: few("a", "b", null),
  runId: fc.option(fc.uuid(), { nil: null }),
  handler: few("h", "é h", null),
  data: fc.record(
    {
      nodeId: few("n1", "n2"),
      workerId: few("w1", "w2"),
      scheduledTime: few(1_699_999_999_000, 0),
      attempt: few(1, 2),
      manual: fc.boolean(),
      runStatus: few("running", "succeeded"),
      result: json,
      reason: few("", "paused", 'a "quoted" reason'),
    },
    { requiredKeys: ["nodeId"] },
  ),
}) as fc.Arbitrary<EventDraft>;

/** What the whole events read back as when stored as a JSON array. */
const asArray = (events: readonly EventDraft[]) => JSON.parse(JSON.stringify(events)) as unknown;

describe("a batch of events as stored", () => {
  it("reads back as the events, whatever they share", () => {
    fc.assert(
      fc.property(fc.array(draft, { minLength: 1, maxLength: 12 }), (events) => {
        expect(eventsOfText(batchText(events))).toEqual(asArray(events));
      }),
      PARAMS,
    );
  });

  it("reads back the events of a lease, run by run", () => {
    const runs = Array.from({ length: 50 }, (_, i) => run(i));
    const events = runEvents(runs, 1_700_000_000_123, "node-1");
    const back = eventsOfText(batchText(events));
    expect(back).toEqual(asArray(events));
    expect(back.map((e) => e.runId)).toEqual(runs.map((r) => r.id));
  });

  it("says the shared fields once: a lease's events take under 40 % of the array's bytes", () => {
    const events = runEvents(
      Array.from({ length: 1000 }, (_, i) => run(i)),
      1_700_000_000_123,
      "node-1",
    );
    const array = JSON.stringify(events).length;
    expect(batchText(events).length).toBeLessThan(array * 0.4);
  });

  it("counts each event's bytes once read as the array did, within a tenth", () => {
    const events = runEvents(
      Array.from({ length: 200 }, (_, i) => run(i)),
      1_700_000_000_123,
      "node-1",
    );
    const array = JSON.stringify(events);
    const perEvent = bytesPerEvent(array, events.length);
    expect(perEvent).toBe(Math.ceil(array.length / events.length));
    expect(bytesPerEvent(batchText(events), events.length) / perEvent).toBeGreaterThan(0.9);
    expect(bytesPerEvent(batchText(events), events.length) / perEvent).toBeLessThan(1.1);
  });

  it("reads rows written as an array of whole events", () => {
    const events = [draftOf("job_added", "a"), draftOf("job_removed", "b")];
    expect(eventsOfText(JSON.stringify(events))).toEqual(events);
  });

  it("refuses a row in a format it does not know, rather than reading it wrong", () => {
    expect(() => eventsOfText('{"v":3,"common":{},"events":[]}')).toThrow(/format/);
  });
});

function draftOf(type: "job_added" | "job_removed", jobId: string): EventDraft {
  return {
    type,
    time: 1,
    scheduler: "default",
    jobId,
    runId: null,
    handler: "h",
    data: { nodeId: "n" },
  };
}

/** A run leased to one worker, as one lease hands them out. */
function run(i: number): Run {
  const at = T0 + i;
  return pendingRun(job(`job-${String(i)}`), at, {
    status: "running",
    dueAt: null,
    expiresAt: null,
    workerId: "worker-1",
    leaseToken: "t",
    leaseExpiresAt: at + 30_000,
    startedAt: at + 100,
    updatedAt: at + 100,
  });
}
