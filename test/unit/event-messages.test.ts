/**
 * A subscriber that is behind gets its queued messages joined into fewer, larger ones (up to the
 * page size), every event once and in order, with the last joined message's position; the
 * binary response of a joined message reuses each part's encoding (made once, shared by every
 * subscriber the part went to) and decodes to the same events.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { binaryResponse } from "../../server/src/api/convert/event-responses.js";
import { EventMatcher, MATCH_ALL, type LoggedEvent } from "../../server/src/domain/events.js";
import { Subscription, type StreamMessage } from "../../server/src/events/subscription.js";
import { SubscribeResponseSchema } from "../../server/src/gen/metronome/v1/event_service_pb.js";

function events(from: number, n: number): LoggedEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    cursor: from + i,
    type: "job_executed" as const,
    time: 1_800_000_000_000 + from + i,
    scheduler: "default",
    jobId: `job-${String(from + i)}`,
    runId: `run-${String(from + i)}`,
    handler: "h",
    data: { nodeId: "n", attempt: 1 },
  }));
}

/** A live subscription fed by hand (the hub's part), never catching up from a store. */
function liveSubscription(maxEvents: number): Subscription {
  const s = new Subscription(
    {
      forget: () => undefined,
      catchUp: () => Promise.reject(new Error("a live subscription does not catch up")),
      checkpointMs: 2_000,
      now: () => 0,
    },
    new EventMatcher(MATCH_ALL),
    0,
    maxEvents,
  );
  s.attached = true;
  return s;
}

describe("a subscriber's backlog", () => {
  it("is sent in messages of up to the page size, every event once, in order", async () => {
    const s = liveSubscription(500);
    const parts = [events(1, 200), events(201, 200), events(401, 200), events(601, 50)];
    s.enqueue({ events: parts[0] ?? [], cursor: 0, live: true });
    s.enqueue({ events: parts[1] ?? [], cursor: 400, live: true });
    s.enqueue({ events: parts[2] ?? [], cursor: 0, live: true });
    s.enqueue({ events: [], cursor: 600, live: true }); // a checkpoint
    s.enqueue({ events: parts[3] ?? [], cursor: 650, live: true });

    const first = (await s.next()).value as StreamMessage;
    expect(first.events.map((e) => e.cursor)).toEqual(
      parts
        .slice(0, 2)
        .flat()
        .map((e) => e.cursor),
    );
    expect(first.cursor).toBe(400);
    expect(first.parts).toEqual([parts[0], parts[1]]);
    const second = (await s.next()).value as StreamMessage;
    expect(second.events.map((e) => e.cursor)).toEqual(
      [...(parts[2] ?? []), ...(parts[3] ?? [])].map((e) => e.cursor),
    );
    expect(second.cursor).toBe(650);
    expect(s.idle).toBe(true);
    expect(s.queuedEvents).toBe(0);
  });

  it("goes out alone when nothing else is queued", async () => {
    const s = liveSubscription(500);
    const only = events(1, 3);
    s.enqueue({ events: only, cursor: 3, live: true });
    const m = (await s.next()).value as StreamMessage;
    expect(m.events).toBe(only);
    expect(m.parts).toBeUndefined();
  });

  it("encodes a joined message from its parts' shared encodings, decoding to every event", () => {
    const a = events(1, 3);
    const b = events(4, 2);
    const alone = binaryResponse({ events: a, cursor: 3, live: true });
    const joined = binaryResponse({ events: [...a, ...b], cursor: 5, live: true, parts: [a, b] });
    // The part's bytes are the very ones another subscriber was sent.
    expect(joined.$unknown?.[0]?.data).toBe(alone.$unknown?.[0]?.data);
    const decoded = fromBinary(SubscribeResponseSchema, toBinary(SubscribeResponseSchema, joined));
    expect(decoded.events.map((e) => Number(e.cursor))).toEqual([1, 2, 3, 4, 5]);
    expect(decoded.events.map((e) => e.jobId)).toEqual([
      "job-1",
      "job-2",
      "job-3",
      "job-4",
      "job-5",
    ]);
    expect(decoded.cursor).toBe(5n);
  });
});
