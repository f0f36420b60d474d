/**
 * Subscribe's messages stay under the 4 MiB a gRPC client accepts by default: @grpc/grpc-js with
 * its default settings reads 50 events of 60 KB results each (6 MB together) from an earlier
 * cursor — caught up from the store, caught up from the node's memory, and delivered live — in
 * order, each once, in several messages. (Before, one message carried them all and the client
 * failed with RESOURCE_EXHAUSTED at every resume.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventDraft } from "../../server/src/domain/events.js";
import { rawSubscription, type RawSubscription, type Reply } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const EVENTS = 50;
const RESULT_CHARS = 60_000;
const FILTER = { types: ["EVENT_TYPE_JOB_EXECUTED"] };

describe("Subscribe's messages under gRPC's default 4 MiB", () => {
  let db: TestStore;
  let server: TestNode;
  const open: RawSubscription[] = [];

  beforeAll(async () => {
    db = await createSqliteStore("metronome-event-sizes");
    server = await startTestNode(db.url);
  });
  afterAll(async () => {
    for (const s of open) s.cancel();
    await server.stop();
    await db.drop();
  });

  const subscribe = (request: object): RawSubscription => {
    const s = rawSubscription(server.port, request);
    open.push(s);
    return s;
  };

  /** Records EVENTS job_executed events with large results (jobs `<prefix>-<i>`), sequenced. */
  async function recordLarge(prefix: string): Promise<string[]> {
    const ids = Array.from({ length: EVENTS }, (_, i) => `${prefix}-${String(i)}`);
    const drafts: EventDraft[] = ids.map((id, i) => ({
      type: "job_executed",
      time: Date.now(),
      scheduler: "default",
      jobId: id,
      runId: `${prefix}-run-${String(i)}`,
      handler: "h.large",
      data: {
        nodeId: "test-node",
        attempt: 1,
        runStatus: "succeeded",
        result: { id, blob: String(i % 10).repeat(RESULT_CHARS) },
      },
    }));
    // In a few batches, as results are recorded.
    for (let i = 0; i < drafts.length; i += 10)
      await server.node.store.appendEvents(drafts.slice(i, i + 10));
    await server.node.events.flush();
    return ids;
  }

  /** Messages of a subscription up to and with its first live one that follows `count` events. */
  async function read(s: RawSubscription, count: number): Promise<Reply[]> {
    const messages: Reply[] = [];
    let events = 0;
    for (;;) {
      const m = await s.next();
      messages.push(m);
      events += (m.events as Reply[]).length;
      if (events >= count && m.live === true) return messages;
    }
  }

  /** What the messages carried: the jobs of their events in order, each event's result whole. */
  function checkEvents(messages: readonly Reply[], ids: readonly string[]): void {
    const events = messages.flatMap((m) => m.events as Reply[]);
    expect(events.map((e) => e.job_id)).toEqual(ids);
    const cursors = events.map((e) => BigInt(e.cursor as string));
    for (let i = 1; i < cursors.length; i++)
      expect(cursors[i]).toBeGreaterThan(cursors[i - 1] as bigint);
    events.forEach((e, i) => {
      const result = JSON.parse(e.result_json as string) as { id: string; blob: string };
      expect(result.id).toBe(ids[i]);
      expect(result.blob.length).toBe(RESULT_CHARS);
    });
    // Each message's cursor is at or after its last event, and they never go back.
    let previous = 0n;
    for (const m of messages) {
      const cursor = BigInt(m.cursor as string);
      const last = (m.events as Reply[]).at(-1);
      if (last !== undefined) expect(cursor).toBeGreaterThanOrEqual(BigInt(last.cursor as string));
      expect(cursor).toBeGreaterThanOrEqual(previous);
      previous = cursor;
    }
    // Several messages: the 6 MB could not go in one.
    expect(messages.filter((m) => (m.events as Reply[]).length > 0).length).toBeGreaterThan(1);
  }

  it("catches up from the store from an earlier cursor, and again from the same cursor", async () => {
    // No subscription yet: the node holds no events in memory, a catch-up reads the store.
    const before = (await server.node.store.logState()).last;
    const ids = await recordLarge("stored");
    for (let attempt = 0; attempt < 2; attempt++) {
      const s = subscribe({ after_cursor: String(before), filter: FILTER });
      const messages = await read(s, EVENTS);
      checkEvents(messages.slice(0, -1), ids);
      // Replayed, then live.
      for (const m of messages.slice(0, -1)) expect(m.live).toBe(false);
      s.cancel();
    }
  });

  it("delivers them live, and catches up from memory from an earlier cursor", async () => {
    const watcher = subscribe({ from_now: true, filter: FILTER });
    const first = await watcher.next();
    expect(first).toMatchObject({ events: [], live: true });
    const before = String(first.cursor);
    const ids = await recordLarge("live");
    // Live: every message is live.
    const delivered: Reply[] = [];
    while (delivered.flatMap((m) => m.events as Reply[]).length < EVENTS)
      delivered.push(await watcher.next());
    for (const m of delivered) expect(m.live).toBe(true);
    checkEvents(delivered, ids);
    // The watcher has them, so the node holds them in memory: a subscription from before them
    // catches up from there.
    const late = subscribe({ after_cursor: before, filter: FILTER });
    const messages = await read(late, EVENTS);
    checkEvents(messages.slice(0, -1), ids);
    for (const m of messages.slice(0, -1)) expect(m.live).toBe(false);
    expect(messages.at(-1)).toMatchObject({ events: [], live: true });
  });
});
