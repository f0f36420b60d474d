/**
 * What the event hub reads, on a real (embedded SQLite) store counted by a wrapper: with no
 * subscription on the node it follows the log's end at its poll only, not after every
 * sequencing it is told of; with one, a poke reads the new events at once. The poll's timer is
 * faked, so the test decides when it fires.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventMatcher, MATCH_ALL, nodeEvent } from "../../server/src/domain/events.js";
import { EventHub, type HubStore } from "../../server/src/events/hub.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";

const POLL_MS = 25;
const IDLE_POLL_MS = 1000;

describe("the event hub's reads", () => {
  let store: SqliteStore;
  let hub: EventHub;
  const reads = { logState: 0, readEvents: 0 };
  /** The cursor each readEvents read after. */
  const readsFrom: number[] = [];

  /** Appends one event and gives it its cursor; answers the log's end. */
  async function logged(i: number): Promise<number> {
    await store.appendEvents([nodeEvent("scheduler_started", i, `n${String(i)}`)]);
    await store.sequenceEvents(500);
    return (await store.logState()).last;
  }

  beforeEach(async () => {
    store = SqliteStore.open(":memory:");
    await store.migrate();
    reads.logState = 0;
    reads.readEvents = 0;
    readsFrom.length = 0;
    const counted: HubStore = {
      logState: () => {
        reads.logState++;
        return store.logState();
      },
      readEvents: (...args) => {
        reads.readEvents++;
        readsFrom.push(args[0]);
        return store.readEvents(...args);
      },
    };
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    hub = new EventHub(counted, pino({ level: "silent" }), {
      pollMs: POLL_MS,
      idlePollMs: IDLE_POLL_MS,
    });
    await hub.start();
  });

  afterEach(async () => {
    vi.useRealTimers();
    await hub.stop();
    await store.close();
  });

  it("without subscribers follows the log's end at its poll, not at each poke", async () => {
    const started = reads.logState;
    const end = await logged(1);
    reads.logState = 0;
    hub.poke();
    hub.poke();
    await vi.advanceTimersByTimeAsync(POLL_MS - 1);
    expect(reads.logState).toBe(0);
    expect(hub.position).toBeLessThan(end);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads.logState).toBe(1);
    expect(hub.position).toBe(end);
    expect(reads.readEvents).toBe(0);
    expect(started).toBe(1); // the start read where the log ends
  });

  it("without subscribers reads the end at the idle poll; a subscription brings the tail's back", async () => {
    await vi.advanceTimersByTimeAsync(POLL_MS); // the first poll after the start
    const end = await logged(1);
    reads.logState = 0;
    await vi.advanceTimersByTimeAsync(IDLE_POLL_MS - 1);
    expect(reads.logState).toBe(0);
    expect(hub.position).toBeLessThan(end);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads.logState).toBe(1);
    expect(hub.position).toBe(end);
    // Subscribed: events sequenced elsewhere (no poke here) are read within POLL_MS.
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const next = await logged(2);
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(reads.readEvents).toBe(1);
    expect(hub.position).toBe(next);
    s.close();
  });

  it("without subscribers, a subscription from now starts at the log's end, not the last poll", async () => {
    await logged(1);
    hub.poke();
    const end = await logged(2);
    expect(hub.position).toBeLessThan(end);
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    expect(hub.position).toBe(end);
    expect(s.pos).toBe(end);
    // Nothing from before it: the first message is the next event.
    const messages = s[Symbol.asyncIterator]();
    const next = await logged(3);
    hub.poke();
    await vi.advanceTimersByTimeAsync(0);
    const first = await messages.next();
    if (first.done === true) throw new Error("the subscription ended");
    expect(first.value.events.map((e) => e.time)).toEqual([3]);
    expect(first.value.cursor).toBe(next);
    s.close();
  });

  it("without subscribers, a subscription from a cursor catches up to the log's end before it is live", async () => {
    await logged(1);
    const end = await logged(2);
    hub.poke();
    expect(hub.position).toBeLessThan(end);
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { afterCursor: 0 });
    const messages = s[Symbol.asyncIterator]();
    const times: number[] = [];
    for (;;) {
      const m = await messages.next();
      if (m.done === true) throw new Error("the subscription ended");
      times.push(...m.value.events.map((e) => e.time));
      if (m.value.live) break;
    }
    expect(times).toEqual([1, 2]);
    s.close();
  });

  it("with a subscriber reads the new events as soon as it is poked", async () => {
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const messages = s[Symbol.asyncIterator]();
    const end = await logged(2);
    hub.poke();
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.readEvents).toBe(1);
    expect(hub.position).toBe(end);
    const first = await messages.next();
    if (first.done === true) throw new Error("the subscription ended");
    expect(first.value.events.map((e) => e.time)).toEqual([2]);
    s.close();
  });

  /** Appends events one per row and sequences them, reading them as the sequencer does. */
  async function sequencedRead(...times: number[]) {
    for (const t of times) await store.appendEvents([nodeEvent("scheduler_started", t, "n")]);
    const read = await store.sequenceEventsRead(500);
    return read;
  }

  /** The times of the events of a subscription's next message. */
  async function nextTimes(messages: AsyncIterator<{ events: readonly { time: number }[] }>) {
    const m = await messages.next();
    if (m.done === true) throw new Error("the subscription ended");
    return m.value.events.map((e) => e.time);
  }

  it("hands the events a sequencer read on without reading, when they follow what it holds", async () => {
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const messages = s[Symbol.asyncIterator]();
    await nextTimes(messages); // the first, empty, live message
    const read = await sequencedRead(5, 6);
    hub.offer(read);
    expect(await nextTimes(messages)).toEqual([5, 6]);
    expect(reads.readEvents).toBe(0);
    expect(hub.position).toBe((await store.logState()).last);
    s.close();
  });

  it("reads the log when another node sequenced in between", async () => {
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const messages = s[Symbol.asyncIterator]();
    await nextTimes(messages);
    await sequencedRead(7); // another node's, not offered here
    const read = await sequencedRead(8);
    hub.offer(read);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.readEvents).toBe(1);
    expect(await nextTimes(messages)).toEqual([7, 8]);
    s.close();
  });

  it("sends an event once when an offer and a read of the tail cross", async () => {
    const s = await hub.subscribe(new EventMatcher(MATCH_ALL), { fromNow: true });
    const messages = s[Symbol.asyncIterator]();
    await nextTimes(messages);
    const read = await sequencedRead(9);
    const before = hub.position;
    hub.poke(); // a read of the tail starts from the old head…
    hub.offer(read); // …and the offer is taken meanwhile
    await vi.advanceTimersByTimeAsync(0);
    expect(readsFrom).toEqual([before]);
    expect(await nextTimes(messages)).toEqual([9]);
    // Held once in memory too: a subscription from before it catches up with it once.
    const late = await hub.subscribe(new EventMatcher(MATCH_ALL), { afterCursor: before });
    const caught: number[] = [];
    for (const it = late[Symbol.asyncIterator](); ;) {
      const m = await it.next();
      if (m.done === true) throw new Error("the subscription ended");
      caught.push(...m.value.events.map((e) => e.time));
      if (m.value.live) break;
    }
    expect(caught).toEqual([9]);
    expect(reads.readEvents).toBe(1);
    late.close();
    hub.offer(await sequencedRead(10));
    expect(await nextTimes(messages)).toEqual([10]);
    s.close();
  });
});
