/** The worker registry: which handlers the sessions of every node serve, until they expire. */
import { describe, expect, it } from "vitest";
import { nodeEvent } from "../../../server/src/domain/events.js";
import { allEvents, S, T0, useStores, type StoreFactory } from "./fixtures.js";

export function workersContract(factory: StoreFactory): void {
  describe("worker registry", () => {
    const stores = useStores(factory);

    it("counts other nodes' live sessions per handler; refresh, unregister and expiry", async () => {
      const { store } = stores;
      const session = (id: string, nodeId: string, handlers: string[]) => ({
        sessionId: id,
        workerId: `w-${id}`,
        nodeId,
        handlers,
      });
      await store.registerSession(session("s1", "n1", ["h.a", "h.b"]), T0 + 10 * S, [
        nodeEvent("scheduler_started", T0, "registry-event"),
      ]);
      await store.registerSession(session("s2", "n2", ["h.a"]), T0 + 10 * S);
      await store.registerSession(session("s3", "n3", ["h.c"]), T0 + 2 * S);
      expect(await store.servingSessions(["h.a", "h.b", "h.c", "h.none"], T0, "n9")).toEqual(
        new Map([
          ["h.a", 2],
          ["h.b", 1],
          ["h.c", 1],
        ]),
      );
      // A node's own sessions are counted from its memory, not the registry.
      expect(await store.servingSessions(["h.a"], T0, "n1")).toEqual(new Map([["h.a", 1]]));
      // Expired records stop counting, until refreshed.
      expect(await store.servingSessions(["h.c"], T0 + 3 * S, "n9")).toEqual(new Map());
      await store.refreshSessions(["s3"], T0 + 20 * S);
      expect(await store.servingSessions(["h.c"], T0 + 3 * S, "n9")).toEqual(new Map([["h.c", 1]]));
      await store.unregisterSession("s1", []);
      expect(await store.servingSessions(["h.a", "h.b"], T0, "n9")).toEqual(new Map([["h.a", 1]]));
      // Records of a crashed node's sessions are deleted once expired.
      expect(await store.deleteExpiredSessions(T0 + 15 * S)).toBe(1);
      expect(await store.servingSessions(["h.a", "h.c"], T0, "n9")).toEqual(new Map([["h.c", 1]]));
      // The events given with a registry change are written with it.
      expect((await allEvents(store)).map((e) => e.data.nodeId)).toContain("registry-event");
    });

    it("keeps each node's record with its worker sessions until it is removed or expires", async () => {
      const { store } = stores;
      const worker = {
        sessionId: "s1",
        workerId: "w-1",
        handlers: [{ name: "h.a", limit: 2 }],
        maxConcurrency: 4,
        labels: { sdk: "@metronome/sdk/0.2.0", host: "h\u00e9" },
        slotsInUse: 1,
        connectedAt: T0 - S,
        lastHeartbeat: T0,
        draining: false,
      };
      const node = (nodeId: string, lastSeen: number, workers = [worker]) => ({
        nodeId,
        version: "0.2.0",
        address: "127.0.0.1:8080",
        role: "scheduler" as const,
        state: "serving" as const,
        startedAt: T0 - 60 * S,
        lastSeen,
        activity: { workerSessions: workers.length, runsInFlight: 1, subscribers: 0 },
        workers,
      });
      await store.recordNode(node("n2", T0), T0 + 10 * S);
      await store.recordNode(node("n1", T0, []), T0 + 2 * S);
      expect(await store.listNodes(T0)).toEqual([
        { ...node("n1", T0, []), expiresAt: T0 + 2 * S },
        { ...node("n2", T0), expiresAt: T0 + 10 * S },
      ]);
      // A refresh replaces the record; an expired one is not listed, then deleted.
      await store.recordNode({ ...node("n2", T0 + S), state: "stopping" }, T0 + 11 * S);
      const [n2] = await store.listNodes(T0 + 3 * S);
      expect(n2).toMatchObject({ nodeId: "n2", state: "stopping", lastSeen: T0 + S });
      expect(await store.deleteExpiredNodes(T0 + 3 * S)).toBe(1);
      await store.removeNode("n2");
      expect(await store.listNodes(T0)).toEqual([]);
    });
  });
}
