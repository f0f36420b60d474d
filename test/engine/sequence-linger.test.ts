/**
 * The sequencer waits SEQUENCE_LINGER_MS after it is asked, so that the events of transactions
 * committing close together get their cursors in one operation. On a real (embedded SQLite)
 * store; the linger's timer is faked, so the test decides when it has passed.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { nodeEvent } from "../../server/src/domain/events.js";
import { EventLog, SEQUENCE_LINGER_MS } from "../../server/src/events/log.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { ManualClock } from "../support/clock.js";

/** One turn of the event loop (not faked). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("the sequencer's linger", () => {
  let store: SqliteStore;
  let log: EventLog;
  /** Sequencer operations that gave cursors, with how many batches each. */
  const rounds: number[] = [];

  beforeEach(async () => {
    store = SqliteStore.open(":memory:");
    await store.migrate();
    rounds.length = 0;
    const counted = {
      onEventsCommitted: (fn: Parameters<SqliteStore["onEventsCommitted"]>[0]) => {
        store.onEventsCommitted(fn);
      },
      sequenceEvents: async (limit: number) => {
        const n = await store.sequenceEvents(limit);
        if (n > 0) rounds.push(n);
        return n;
      },
      hasUnsequenced: () => store.hasUnsequenced(),
      pruneEvents: (before: number, limit: number) => store.pruneEvents(before, limit),
    };
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    log = new EventLog(counted, new ManualClock(0), pino({ level: "silent" }), {
      retentionMs: 60_000,
    });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await log.stop();
    await store.close();
  });

  it("gives the events of commits within the linger their cursors in one operation", async () => {
    for (let i = 0; i < 3; i++) {
      await store.appendEvents([nodeEvent("scheduler_started", i, `n${String(i)}`)]);
      await turn();
    }
    expect(rounds).toEqual([]); // still lingering
    vi.advanceTimersByTime(SEQUENCE_LINGER_MS);
    vi.useRealTimers();
    await log.flush();
    expect(rounds).toEqual([3]);
    const read = await store.readEvents(0, (await store.logState()).last, 10);
    expect(read.events.map((e) => e.time)).toEqual([0, 1, 2]);
  });
});
