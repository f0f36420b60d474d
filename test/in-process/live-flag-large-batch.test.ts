/**
 * A transaction with more events than a subscriber's queue holds (RemoveAllJobs cancelling 2,000
 * pending runs: 2,001 events, over the default METRONOME_EVENT_SUBSCRIBER_QUEUE of 2,000) goes
 * whole to a subscriber that reads as fast as it can: it is not dropped from the live feed (no
 * "a subscriber fell behind"), and every message of its stream stays live
 * (SubscribeResponse.live: true from the first message after the backlog on).
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventType } from "../../server/src/gen/metronome/v1/event_pb.js";
import {
  EventService,
  type SubscribeResponse,
} from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

describe("a batch larger than the subscriber queue", () => {
  let n: InProcessNode;
  const controller = new AbortController();
  const lines: { msg?: string }[] = [];

  beforeAll(async () => {
    const log = pino(
      { level: "info" },
      {
        write: (line: string) => {
          lines.push(JSON.parse(line) as { msg?: string });
        },
      },
    );
    n = await startInProcessNode({ log });
  });
  afterAll(async () => {
    controller.abort();
    await n.stop();
  });

  it("reaches a subscriber that reads, live, without dropping it", async () => {
    const jobs = n.client(JobService);
    // A handler no worker serves: the manual runs stay pending.
    await jobs.addJob({
      job: {
        id: "many",
        handler: "h.none",
        trigger: { kind: { case: "interval", value: { hours: 1 } } },
      },
    });
    for (let i = 0; i < 2000; i += 100)
      await Promise.all(Array.from({ length: 100 }, () => jobs.runJobNow({ jobId: "many" })));
    const call: AsyncIterable<SubscribeResponse> = n
      .client(EventService)
      .subscribe(
        { filter: { types: [EventType.RUN_CANCELLED, EventType.ALL_JOBS_REMOVED] } },
        { signal: controller.signal },
      );
    const stream = call[Symbol.asyncIterator]();
    const messages: SubscribeResponse[] = [];
    const first = await stream.next();
    if (first.done === true) throw new Error("the stream ended");
    messages.push(first.value);
    const removing = jobs.removeAllJobs({ scheduler: "default" });
    let events = 0;
    while (events < 2001) {
      const m = await stream.next();
      if (m.done === true) throw new Error("the stream ended");
      messages.push(m.value);
      events += m.value.events.length;
    }
    await removing;
    expect(events).toBe(2001);
    expect(messages.filter((m) => !m.live)).toEqual([]);
    expect(lines.filter((l) => l.msg?.startsWith("a subscriber fell behind") === true)).toEqual([]);
  });
});
