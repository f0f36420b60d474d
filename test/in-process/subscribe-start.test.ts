/**
 * Where a subscription starts on a node that already has a subscriber (its reader follows the
 * log for it): from now, it gets no event of a call answered before it (SubscribeRequest.from_now:
 * "only events committed after the subscription starts"); from a cursor, every event committed
 * before the call is in the backlog, before the message that says the stream is live. The hub
 * reads where the log ends for every subscription (after giving their cursors to the events
 * committed and still waiting for one) instead of starting at what it had read.
 *
 * Each round holds the node's sequencer back while the subscription starts, as happens when
 * the call comes within the few milliseconds an event waits for its cursor (events/log.ts): the
 * event committed before the call is then neither read by the node nor sequenced yet.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  EventService,
  type SubscribeResponse,
} from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const ROUNDS = 3;

const open = (call: AsyncIterable<SubscribeResponse>): AsyncIterator<SubscribeResponse> =>
  call[Symbol.asyncIterator]();

describe("a subscription on a node that has subscribers", () => {
  let n: InProcessNode;
  const controller = new AbortController();

  beforeAll(async () => {
    n = await startInProcessNode();
    // Someone else (a dashboard) is subscribed on this node.
    const background = open(n.client(EventService).subscribe({}, { signal: controller.signal }));
    expect((await next(background)).live).toBe(true);
  });
  afterAll(async () => {
    controller.abort();
    await n.stop();
  });

  const addJob = (id: string) =>
    n.client(JobService).addJob({
      job: { id, handler: "h.start", trigger: { kind: { case: "interval", value: { hours: 1 } } } },
    });

  /**
   * Holds the node's sequencer (with subscribers here, it reads what it sequences) until the
   * answer's release is called; the sequencer's operations wait, and run once released.
   */
  function holdSequencer(): () => void {
    const store = n.node.store as Required<typeof n.node.store>;
    const sequence = store.sequenceEventsRead.bind(store);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = vi.spyOn(store, "sequenceEventsRead").mockImplementation(async (limit) => {
      await released;
      return sequence(limit);
    });
    return () => {
      held.mockRestore();
      release();
    };
  }

  /** The next message of `stream`. */
  async function next(stream: AsyncIterator<SubscribeResponse>): Promise<SubscribeResponse> {
    const m = await stream.next();
    if (m.done === true) throw new Error("the stream ended");
    return m.value;
  }

  it("from now, gets no event of a call answered before it", async () => {
    const events = n.client(EventService);
    for (let i = 0; i < ROUNDS; i++) {
      const before = `now-before-${String(i)}`;
      const after = `now-after-${String(i)}`;
      const release = holdSequencer();
      await addJob(before);
      // AddJob answered: its job_added is committed. Now the subscription starts.
      const ac = new AbortController();
      const stream = open(
        events.subscribe({ filter: { handlers: ["h.start"] } }, { signal: ac.signal }),
      );
      const seen: string[] = [];
      try {
        const first = await next(stream);
        expect(first).toMatchObject({ live: true, events: [] });
        release();
        await addJob(after);
        // Cursor order: the earlier job's event would come before the later one's.
        while (!seen.includes(after)) {
          const m = await next(stream);
          expect(m.live).toBe(true);
          seen.push(...m.events.map((e) => e.jobId));
        }
      } finally {
        release();
        ac.abort();
      }
      expect(seen).toEqual([after]);
    }
  });

  it("from a cursor, sends every event committed before the call before it says live", async () => {
    const events = n.client(EventService);
    const filter = { handlers: ["h.start"] };
    const first = open(events.subscribe({ filter }, { signal: controller.signal }));
    let cursor = (await next(first)).cursor;
    for (let i = 0; i < ROUNDS; i++) {
      const id = `cursor-${String(i)}`;
      const release = holdSequencer();
      await addJob(id);
      const ac = new AbortController();
      const stream = open(
        events.subscribe(
          { filter, start: { case: "afterCursor", value: cursor } },
          { signal: ac.signal },
        ),
      );
      const backlog: string[] = [];
      const after: string[] = [];
      try {
        for (;;) {
          const m = await next(stream);
          cursor = m.cursor;
          if (m.live) {
            // The live message follows the backlog, and is empty.
            expect(m.events).toEqual([]);
            break;
          }
          backlog.push(...m.events.map((e) => e.jobId));
        }
        // Had the backlog missed it, it would come now, live.
        release();
        const mark = `mark-${String(i)}`;
        await addJob(mark);
        while (!after.includes(mark)) {
          const m = await next(stream);
          cursor = m.cursor;
          after.push(...m.events.map((e) => e.jobId));
        }
      } finally {
        release();
        ac.abort();
      }
      expect({ backlog, after }).toEqual({ backlog: [id], after: [`mark-${String(i)}`] });
    }
  });
});
