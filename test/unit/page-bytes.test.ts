/**
 * Answers cut by bytes, so that each stays under the 4 MiB a gRPC client accepts by default: a
 * ListJobs page keeps its first jobs up to MAX_PAGE_BYTES of their encoding (one job at least),
 * and a Subscribe message whose events take more than MAX_MESSAGE_BYTES becomes several
 * responses, each under it, carrying every event once and in order with cursors a subscriber can
 * resume from; a message within the bound is answered as before, with its shared encoding.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { binaryResponse } from "../../server/src/api/convert/event-responses.js";
import { jobBytes, pageEntries, type AnsweredJob } from "../../server/src/api/convert/job-bytes.js";
import { MAX_PAGE_BYTES } from "../../server/src/api/convert/paging.js";
import {
  MAX_MESSAGE_BYTES,
  subscribeResponses,
} from "../../server/src/api/convert/event-responses.js";
import type { LoggedEvent } from "../../server/src/domain/events.js";
import type { Job } from "../../server/src/domain/jobs.js";
import type { StreamMessage } from "../../server/src/events/subscription.js";
import { SubscribeResponseSchema } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { ListJobsResponseSchema } from "../../server/src/gen/metronome/v1/job_service_pb.js";

const FOUR_MIB = 4 * 1024 * 1024;
const T = 1_800_000_000_000;

function job(i: number, blob: number): AnsweredJob {
  const j: Job = {
    scheduler: "default",
    id: `job-${String(i).padStart(3, "0")}`,
    name: `job ${String(i)}`,
    handler: "h",
    trigger: { type: "interval", hours: 1, startDate: T, timezone: "UTC" },
    args: [],
    kwargs: { blob: "x".repeat(blob) },
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeMs: 1000,
    timeoutMs: null,
    retry: null,
    paused: false,
    nextRunTime: T,
    createdAt: T,
    updatedAt: T,
    version: 1,
  };
  return { job: j, workerCount: 0 };
}

function event(cursor: number, blob: number): LoggedEvent {
  return {
    cursor,
    type: "job_executed",
    time: T + cursor,
    scheduler: "default",
    jobId: `job-${String(cursor)}`,
    runId: `run-${String(cursor)}`,
    handler: "h",
    data: { nodeId: "n", attempt: 1, result: { blob: "r".repeat(blob) } },
  };
}

describe("ListJobs pages by bytes", () => {
  it("keeps every job of a page that fits", () => {
    const jobs = Array.from({ length: 100 }, (_, i) => job(i, 100));
    const entries = pageEntries(jobs);
    expect(entries).toHaveLength(100);
    // The entries are the jobs' encodings, in order.
    const res = fromBinary(
      ListJobsResponseSchema,
      toBinary(ListJobsResponseSchema, { ...emptyList(), $unknown: entries }),
    );
    expect(res.jobs.map((j) => j.id)).toEqual(jobs.map((a) => a.job.id));
  });

  it("cuts a page of large jobs under the bound, after as many whole jobs as fit", () => {
    const jobs = Array.from({ length: 100 }, (_, i) => job(i, 60_000));
    const entries = pageEntries(jobs);
    const size = (n: number) =>
      jobs.slice(0, n).reduce((sum, a) => sum + jobBytes(a).length + 4, 0);
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.length).toBeLessThan(100);
    const bytes = toBinary(ListJobsResponseSchema, {
      ...emptyList(),
      nextPageToken: "t".repeat(1000),
      $unknown: entries,
    }).length;
    expect(bytes).toBeLessThanOrEqual(MAX_PAGE_BYTES + 1000 + 8);
    expect(bytes).toBeLessThan(FOUR_MIB);
    // The next job would not have fit.
    expect(size(entries.length + 1)).toBeGreaterThan(MAX_PAGE_BYTES);
  });

  it("answers one job alone when it takes more than the bound", () => {
    const jobs = [job(0, 60_000), job(1, 10)];
    expect(pageEntries(jobs, 1000)).toHaveLength(1);
    expect(pageEntries([], 1000)).toEqual([]);
  });
});

function emptyList() {
  return fromBinary(ListJobsResponseSchema, new Uint8Array());
}

describe("Subscribe's messages by bytes", () => {
  const decoded = (r: unknown) =>
    fromBinary(SubscribeResponseSchema, toBinary(SubscribeResponseSchema, r as never));

  it("answers a message within the bound as one response, its shared encoding", () => {
    const events = Array.from({ length: 500 }, (_, i) => event(i + 1, 100));
    const m: StreamMessage = { events, cursor: 600, live: true };
    const responses = [...subscribeResponses(m, false)];
    expect(responses).toHaveLength(1);
    expect(toBinary(SubscribeResponseSchema, responses[0] as never)).toEqual(
      toBinary(SubscribeResponseSchema, binaryResponse(m)),
    );
    const json = [...subscribeResponses(m, true)];
    expect(json).toHaveLength(1);
    expect(json[0]?.events).toHaveLength(500);
  });

  it.each([false, true])(
    "cuts a message of large events into responses under the bound (json: %s)",
    (json) => {
      const events = Array.from({ length: 50 }, (_, i) => event(i * 1024 + 5, 60_000));
      // Sent as parts, as a subscriber behind gets its queued messages joined.
      const m: StreamMessage = {
        events,
        cursor: 99_999,
        live: false,
        parts: [events.slice(0, 20), events.slice(20)],
      };
      const responses = [...subscribeResponses(m, json)];
      expect(responses.length).toBeGreaterThan(1);
      const all = responses.map((r) => (json ? r : decoded(r)));
      for (const r of responses)
        if (!json) expect(toBinary(SubscribeResponseSchema, r).length).toBeLessThan(FOUR_MIB);
      expect(all.flatMap((r) => r.events.map((e) => e.cursor))).toEqual(
        events.map((e) => BigInt(e.cursor)),
      );
      // Each but the last ends at its last event; the last has the message's cursor.
      all.forEach((r, i) => {
        expect(r.live).toBe(false);
        expect(r.events.length).toBeGreaterThan(0);
        expect(r.cursor).toBe(i === all.length - 1 ? 99_999n : r.events.at(-1)?.cursor);
      });
      // The events are whole: the same as one response of them all decodes to.
      expect(all.flatMap((r) => r.events)).toEqual(decoded(binaryResponse(m)).events);
    },
  );

  it("keeps the bound for a custom size, one event at least", () => {
    const events = [event(1, 5000), event(2, 5000), event(3, 10)];
    const responses = [...subscribeResponses({ events, cursor: 7, live: true }, false, 100)].map(
      decoded,
    );
    expect(responses.map((r) => r.events.map((e) => e.cursor))).toEqual([[1n], [2n], [3n]]);
    expect(responses.map((r) => r.cursor)).toEqual([1n, 2n, 7n]);
    expect(MAX_MESSAGE_BYTES).toBeLessThan(FOUR_MIB);
  });
});
