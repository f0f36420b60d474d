/**
 * `live` on Subscribe's messages when a subscription from a cursor catches up from the node's
 * memory (docs/events.md): the events it replays go with `live` false, as they do when it catches
 * up from the store, and one message with `live` true and no events follows them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  EventService,
  type SubscribeResponse,
} from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

describe("a subscription from a cursor still in memory", () => {
  let n: InProcessNode;
  const controller = new AbortController();

  beforeAll(async () => {
    n = await startInProcessNode();
  });
  afterAll(async () => {
    controller.abort();
    await n.stop();
  });

  /** Messages of a subscription up to and with its first live one. */
  async function untilLive(stream: AsyncIterator<SubscribeResponse>): Promise<SubscribeResponse[]> {
    const messages: SubscribeResponse[] = [];
    for (;;) {
      const m = await stream.next();
      if (m.done === true) throw new Error("the stream ended");
      messages.push(m.value);
      if (m.value.live) return messages;
    }
  }

  it("replays with live false, then sends one empty live message", async () => {
    const events = n.client(EventService);
    const jobs = n.client(JobService);
    const filter = { schedulers: ["default"] };
    // A subscriber from now: the node reads every new event into its memory for it.
    const watcher = events.subscribe({ filter }, { signal: controller.signal });
    const watching = watcher[Symbol.asyncIterator]();
    const [first] = await untilLive(watching);
    const before = first?.cursor ?? 0n;
    const ids = Array.from({ length: 8 }, (_, i) => `live-${String(i)}`);
    for (const id of ids)
      await jobs.addJob({
        job: {
          id,
          handler: "h.live",
          trigger: { kind: { case: "interval", value: { hours: 1 } } },
        },
      });
    // Once the watcher has them, the node holds them in memory.
    let seen = 0;
    while (seen < ids.length) {
      const m = await watching.next();
      if (m.done === true) throw new Error("the watcher's stream ended");
      seen += m.value.events.length;
    }

    const reads = vi.spyOn(n.node.store, "readEvents");
    for (const f of [filter, undefined]) {
      const late = events.subscribe({ filter: f, start: { case: "afterCursor", value: before } });
      const stream = late[Symbol.asyncIterator]();
      const messages = await untilLive(stream);
      const replayed = messages.slice(0, -1);
      const live = messages[messages.length - 1];
      // Every replayed event is in a message that is not live…
      expect(replayed.length).toBeGreaterThan(0);
      for (const m of replayed) expect(m.live).toBe(false);
      expect(
        replayed
          .flatMap((m) => m.events)
          .filter((e) => e.scheduler === "default")
          .map((e) => e.jobId),
      ).toEqual(ids);
      // …then one live message without events, at the position the replay reached.
      expect(live?.events).toEqual([]);
      expect(live?.cursor).toBe(replayed[replayed.length - 1]?.cursor);
      await stream.return?.();
    }
    // Served from memory: the store was never read for them (a catch-up read passes the filter).
    expect(reads.mock.calls.filter((c) => c[3] !== undefined)).toEqual([]);
    reads.mockRestore();
  });
});
