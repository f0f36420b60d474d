/**
 * The event log: events commit with the change they report (and not without it), get cursors in
 * order, are read after a cursor with a filter, and are pruned oldest first.
 */
import { describe, expect, it } from "vitest";
import {
  EventMatcher,
  MATCH_ALL,
  nodeEvent,
  type EventDraft,
} from "../../../server/src/domain/events.js";
import { job, S, T0, useStores, type StoreFactory } from "./fixtures.js";

const node = (time: number, nodeId: string): EventDraft =>
  nodeEvent("scheduler_started", time, nodeId);

export function eventsContract(factory: StoreFactory): void {
  describe("events", () => {
    const stores = useStores(factory);

    it("appends events, tells when they commit, gives them increasing cursors in commit order", async () => {
      const { store } = stores;
      const told: string[][] = [];
      store.onEventsCommitted((events) => told.push(events.map((e) => e.data.nodeId)));
      expect(await store.logState()).toEqual({ last: 0, pruned: 0 });
      await store.appendEvents([node(T0, "a"), node(T0, "b")]);
      await store.appendEvents([node(T0 + S, "c")]);
      await store.appendEvents([]);
      expect(told).toEqual([["a", "b"], ["c"]]);
      // Readers see events once they have cursors: given by the sequencer, or by the commit
      // where the store's commits sequence their events (MySQL without a binary log).
      if (await store.hasUnsequenced()) {
        expect((await store.readEvents(0, Number.MAX_SAFE_INTEGER, 100)).events).toEqual([]);
        expect(await store.sequenceEvents(500)).toBeGreaterThan(0);
      }
      expect(await store.sequenceEvents(500)).toBe(0);
      expect(await store.hasUnsequenced()).toBe(false);
      const state = await store.logState();
      const read = await store.readEvents(0, state.last, 100);
      expect(read.events.map((e) => e.data.nodeId)).toEqual(["a", "b", "c"]);
      const cursors = read.events.map((e) => e.cursor);
      expect([...cursors].sort((x, y) => x - y)).toEqual(cursors);
      expect(new Set(cursors).size).toBe(3);
      expect(state.last).toBe(cursors[2]);
      expect(read.through).toBe(state.last);
      // After a cursor, with a filter and a limit.
      const after = await store.readEvents(cursors[0] ?? 0, state.last, 100);
      expect(after.events.map((e) => e.data.nodeId)).toEqual(["b", "c"]);
      const none = await store.readEvents(
        0,
        state.last,
        100,
        new EventMatcher({ ...MATCH_ALL, types: ["job_added"] }),
      );
      expect(none).toEqual({ events: [], through: state.last });
    });

    it("a sequencer that reads its rows answers their events with their cursors, after the log's end", async (ctx) => {
      const { store } = stores;
      // A store without it (Redis) reads no rows to sequence: nothing to check there.
      if (store.sequenceEventsRead === undefined) {
        ctx.skip();
        return;
      }
      while ((await store.sequenceEvents(500)) > 0);
      const end = (await store.logState()).last;
      await store.appendEvents([node(T0, "r1"), node(T0, "r2")]);
      await store.appendEvents([node(T0 + S, "r3")]);
      // A store whose commits sequence their own events (MySQL without a binary log) leaves
      // nothing to it here: test/store/mysql-sequencer.test.ts writes rows without cursors as
      // older nodes do.
      if (!(await store.hasUnsequenced())) {
        ctx.skip();
        return;
      }
      const first = await store.sequenceEventsRead(500);
      expect(first.count).toBe(2);
      expect(first.after).toBe(end);
      const state = await store.logState();
      // Exactly what a reader of the log gets after that end.
      const read = await store.readEvents(end, state.last, 100);
      expect(first.events).toEqual(read.events);
      expect(first.events.map((e) => e.data.nodeId)).toEqual(["r1", "r2", "r3"]);
      // The next one starts where this one ended (a single event: a row of its own format).
      await store.appendEvents([node(T0 + 2 * S, "r4")]);
      const second = await store.sequenceEventsRead(500);
      expect(second.after).toBe(state.last);
      expect(second.events.map((e) => e.data.nodeId)).toEqual(["r4"]);
      expect(second.events[0]?.cursor).toBe((await store.logState()).last);
      expect(await store.sequenceEventsRead(500)).toMatchObject({ count: 0, events: [] });
    });

    it("events written with a change commit with it, and not when it fails", async () => {
      const { store } = stores;
      const before = (await store.logState()).last;
      const told: string[] = [];
      store.onEventsCommitted((events) => {
        for (const e of events) if (e.scheduler === null) told.push(e.data.nodeId);
      });
      const j = job("ev", { scheduler: "events" });
      await store.insertJob(j, [{ ...node(T0, "with-insert"), type: "job_added" }]);
      // A duplicate insert writes nothing, its events neither.
      expect(await store.insertJob(j, [{ ...node(T0, "duplicate"), type: "job_added" }])).toBe(
        false,
      );
      await expect(
        store.updateJob(
          "events",
          "ev",
          () => {
            throw new Error("abort");
          },
          undefined,
          () => [node(T0, "aborted")],
        ),
      ).rejects.toThrow("abort");
      await store.updateJob(
        "events",
        "ev",
        (c) => ({ ...c, version: c.version + 1 }),
        undefined,
        () => [node(T0, "updated")],
      );
      await store.updateJob(
        "events",
        "ev",
        (c) => c,
        undefined,
        () => [node(T0, "unchanged")],
      );
      while ((await store.sequenceEvents(500)) > 0);
      const state = await store.logState();
      const read = await store.readEvents(before, state.last, 100);
      expect(read.events.map((e) => e.data.nodeId)).toEqual(["with-insert", "updated"]);
      // The listener heard of the committed ones only (never of a change rolled back).
      expect(told).toEqual(["with-insert", "updated"]);
    });

    it("sequencers racing with each other and with appends give each event one cursor, as a prefix", async () => {
      const { store } = stores;
      const before = (await store.logState()).last;
      const names: string[] = [];
      const appends: Promise<void>[] = [];
      const rounds: Promise<number>[] = [];
      for (let i = 0; i < 20; i++) {
        const batch = [node(T0 + i, `race-${String(i)}-a`), node(T0 + i, `race-${String(i)}-b`)];
        names.push(...batch.map((e) => e.data.nodeId));
        appends.push(store.appendEvents(batch));
        if (i % 2 === 0) rounds.push(store.sequenceEvents(3), store.sequenceEvents(3));
      }
      await Promise.all(appends);
      await Promise.all(rounds);
      while ((await store.sequenceEvents(500)) > 0);
      expect(await store.hasUnsequenced()).toBe(false);
      const state = await store.logState();
      const read = await store.readEvents(before, state.last, 1000);
      expect([...read.events.map((e) => e.data.nodeId)].sort()).toEqual([...names].sort());
      const cursors = read.events.map((e) => e.cursor);
      for (let i = 1; i < cursors.length; i++)
        expect(cursors[i]).toBeGreaterThan(cursors[i - 1] ?? 0);
      expect(state.last).toBe(cursors.at(-1));
      // A batch keeps its events together, in their order.
      for (let i = 0; i < 20; i++) {
        const a = read.events.findIndex((e) => e.data.nodeId === `race-${String(i)}-a`);
        expect(read.events[a + 1]?.data.nodeId).toBe(`race-${String(i)}-b`);
      }
    });

    it("prunes the oldest events first and records how far", async () => {
      const { store } = stores;
      await store.appendEvents([node(T0 + 100 * S, "new")]);
      while ((await store.sequenceEvents(500)) > 0);
      const state = await store.logState();
      const all = await store.readEvents(0, state.last, 1000);
      let pruned = 0;
      for (;;) {
        const n = await store.pruneEvents(T0 + 50 * S, 1);
        if (n === 0) break;
        pruned += n;
      }
      expect(pruned).toBeGreaterThan(0);
      const after = await store.logState();
      expect(after.last).toBe(state.last);
      const kept = await store.readEvents(0, after.last, 1000);
      expect(kept.events.map((e) => e.data.nodeId)).toEqual(["new"]);
      // Everything before the first kept event counts as pruned; nothing after it.
      const firstKept = kept.events[0]?.cursor ?? 0;
      expect(after.pruned).toBeLessThan(firstKept);
      expect(after.pruned).toBeGreaterThanOrEqual(
        Math.max(...all.events.filter((e) => e.data.nodeId !== "new").map((e) => e.cursor)),
      );
    });
  });
}
