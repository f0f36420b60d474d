/**
 * The events a reading sequencer hands on (store/sql/events/sequence-events.ts), parsed after its
 * transaction committed: with their cursors; none when a row cannot be read (the sequencing
 * stands, the hub reads the log and says why) or when they are over the bytes of one read.
 */
import { describe, expect, it } from "vitest";
import { nodeEvent } from "../../server/src/domain/events.js";
import { BATCH_SPAN } from "../../server/src/store/sql/events/append-events.js";
import { batchText } from "../../server/src/store/sql/events/batch-text.js";
import { READ_BYTES } from "../../server/src/store/sql/events/read-events.js";
import { sequencedEvents } from "../../server/src/store/sql/events/sequence-events.js";

const events = [nodeEvent("scheduler_started", 1, "a"), nodeEvent("scheduler_started", 2, "b")];

describe("the events a sequencer read", () => {
  it("come with their cursors, row after row", () => {
    const s = sequencedEvents({
      count: 2,
      after: 7,
      rows: [
        { cursor: 3, events: batchText(events) },
        { cursor: 4, events: JSON.stringify(events.slice(0, 1)) },
      ],
    });
    expect(s.count).toBe(2);
    expect(s.after).toBe(7);
    expect(s.events.map((e) => [e.cursor, e.data.nodeId])).toEqual([
      [3 * BATCH_SPAN, "a"],
      [3 * BATCH_SPAN + 1, "b"],
      [4 * BATCH_SPAN, "a"],
    ]);
  });

  it("are none when a row cannot be read, the sequencing standing", () => {
    const s = sequencedEvents({
      count: 2,
      after: 7,
      rows: [
        { cursor: 3, events: batchText(events) },
        { cursor: 4, events: '{"v":3,"common":{},"events":[]}' },
      ],
    });
    expect(s).toEqual({ count: 2, after: 7, events: [] });
  });

  it("are none when they are more than one read of the log takes", () => {
    const big = JSON.stringify([{ ...events[0], data: { nodeId: "x".repeat(READ_BYTES) } }]);
    const s = sequencedEvents({ count: 1, after: 0, rows: [{ cursor: 1, events: big }] });
    expect(s).toEqual({ count: 1, after: 0, events: [] });
  });
});
