/**
 * What one subscription of the event hub sends, on a real (embedded SQLite) store, with the
 * hub's timers faked (its tail is read only when a test hands it events) and its clock injected:
 *  - with a subscriber on the node, a new one starts from the log's end as the call finds it,
 *    not from what the node has read: from now, nothing older; from a cursor, live only once
 *    everything up to there was sent;
 *  - `live` stays true once sent, also when the subscriber fell behind and catches up again;
 *  - a subscriber that has read everything queued takes a batch larger than its queue's bound;
 *  - a catch-up that finds nothing matching sends its position (live false) every checkpointMs.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventMatcher, MATCH_ALL, nodeEvent } from "../../server/src/domain/events.js";
import { EventHub, type HubOptions, type StreamMessage } from "../../server/src/events/hub.js";
import type { Subscription } from "../../server/src/events/subscription.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";

describe("the event hub's subscriptions", () => {
  let store: SqliteStore;
  let hub: EventHub | undefined;
  let now = 0;

  beforeEach(async () => {
    store = SqliteStore.open(":memory:");
    await store.migrate();
    now = 0;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await hub?.stop();
    hub = undefined;
    await store.close();
  });

  async function started(options: Partial<HubOptions> = {}): Promise<EventHub> {
    hub = new EventHub(store, pino({ level: "silent" }), { now: () => now, ...options });
    await hub.start();
    return hub;
  }

  /** Commits `n` events in one batch (times from `time`) and gives them cursors. */
  async function commit(n: number, time: number, type = "scheduler_started" as const) {
    await store.appendEvents(Array.from({ length: n }, (_, i) => nodeEvent(type, time + i, "n")));
    return store.sequenceEventsRead(500);
  }

  async function next(s: Subscription): Promise<StreamMessage> {
    const m = await s.next();
    if (m.done === true) throw new Error("the subscription ended");
    return m.value;
  }

  const times = (messages: readonly StreamMessage[]) =>
    messages.flatMap((m) => m.events.map((e) => e.time));

  it("from now, with a subscriber here, starts at the log's end, not at what the node read", async () => {
    const h = await started();
    const watcher = await h.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    expect((await next(watcher)).live).toBe(true);
    // Sequenced, but not read by the node yet (its poll has not come).
    await commit(1, 100);
    const end = (await store.logState()).last;
    expect(h.position).toBeLessThan(end);
    const s = await h.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const first = await next(s);
    expect(first).toMatchObject({ events: [], live: true, cursor: end });
    // The node reads the event, then the next one: only the next one reaches it.
    h.offer(await commit(1, 200));
    await vi.advanceTimersByTimeAsync(0);
    const m = await next(s);
    expect(times([m])).toEqual([200]);
    watcher.close();
    s.close();
  });

  it("from a cursor, with a subscriber here, sends every event up to the log's end before live", async () => {
    const h = await started();
    const watcher = await h.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const start = (await next(watcher)).cursor;
    await commit(2, 100);
    const end = (await store.logState()).last;
    expect(h.position).toBeLessThan(end);
    const s = await h.subscribe(new EventMatcher(MATCH_ALL), { afterCursor: start });
    const messages: StreamMessage[] = [];
    for (;;) {
      const m = await next(s);
      messages.push(m);
      if (m.live) break;
    }
    expect(times(messages.filter((m) => !m.live))).toEqual([100, 101]);
    expect(messages.at(-1)).toMatchObject({ events: [], live: true, cursor: end });
    watcher.close();
    s.close();
  });

  it("stays live after it fell behind and caught up again", async () => {
    const h = await started({ maxQueuedEvents: 2 });
    const s = await h.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    expect((await next(s)).live).toBe(true);
    // Not read meanwhile: one event queued, then two more are over the bound of 2.
    h.offer(await commit(1, 100));
    h.offer(await commit(2, 200));
    expect(s.attached).toBe(false);
    const messages: StreamMessage[] = [];
    while (times(messages).length < 3) messages.push(await next(s));
    expect(times(messages)).toEqual([100, 200, 201]);
    // The second part came from the node's memory, after it fell behind: live all the same.
    expect(messages.map((m) => m.live)).toEqual(messages.map(() => true));
    // And it is fed again.
    h.offer(await commit(1, 300));
    expect(s.attached).toBe(true);
    expect(await next(s)).toMatchObject({ live: true });
    s.close();
  });

  it("takes a batch larger than its queue's bound when it has read everything queued", async () => {
    const h = await started({ maxQueuedEvents: 2 });
    const s = await h.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    expect((await next(s)).live).toBe(true);
    const reads = vi.spyOn(store, "readEvents");
    h.offer(await commit(5, 100));
    expect(s.attached).toBe(true);
    const m = await next(s);
    expect(m).toMatchObject({ live: true });
    expect(times([m])).toEqual([100, 101, 102, 103, 104]);
    expect(reads).not.toHaveBeenCalled();
    s.close();
  });

  it("catching up with nothing matching, sends its position every checkpointMs", async () => {
    // 40 batches of 100 events, then the one event the filter wants.
    for (let b = 0; b < 40; b++)
      await store.appendEvents(
        Array.from({ length: 100 }, (_, i) => nodeEvent("scheduler_started", b * 100 + i, "n")),
      );
    await store.appendEvents([nodeEvent("scheduler_shutdown", 9_999, "n")]);
    while ((await store.sequenceEvents(500)) > 0);
    const end = (await store.logState()).last;
    // Each read of the store takes 300 ms of the hub's clock (a page of 100 events per read).
    const read = store.readEvents.bind(store);
    vi.spyOn(store, "readEvents").mockImplementation((...args) => {
      now += 300;
      return read(...args);
    });
    const h = await started({ pageEvents: 100, checkpointMs: 2_000 });
    const s = await h.subscribe(
      new EventMatcher({ schedulers: [], jobIds: [], handlers: [], types: ["scheduler_shutdown"] }),
      { afterCursor: 0 },
    );
    const messages: { at: number; m: StreamMessage }[] = [];
    for (;;) {
      const m = await next(s);
      messages.push({ at: now, m });
      if (m.live) break;
    }
    const checkpoints = messages.filter(({ m }) => m.events.length === 0 && !m.live);
    // 40 reads of 300 ms: a position every 7 reads (2,100 ms), none sooner.
    expect(checkpoints.length).toBe(5);
    let last = 0;
    let cursor = 0;
    for (const { at, m } of checkpoints) {
      expect(at - last).toBe(2_100);
      expect(m.cursor).toBeGreaterThan(cursor);
      last = at;
      cursor = m.cursor;
    }
    expect(cursor).toBeLessThan(end);
    const rest = messages.slice(checkpoints.length).map(({ m }) => m);
    expect(times(rest)).toEqual([9_999]);
    expect(rest.map((m) => m.live)).toEqual([false, true]);
    expect(rest.at(-1)?.cursor).toBe(end);
    s.close();
  });
});
