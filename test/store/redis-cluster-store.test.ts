/**
 * The Redis store on a local three-master Redis Cluster (store/redis/cluster.ts): the store
 * contract, and what only a cluster shows: the shards spread over the masters with each
 * scheduler's keys in one slot, a store URL with another number of shards refused, events moved
 * into the log once when a move is cut short, and a slot moved to another master while in use.
 */
import { randomBytes } from "node:crypto";
import { Redis, type Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import calculateSlot from "cluster-key-slot";
import { JOBSTORE_URL } from "../../server/src/config/store-url.js";
import { openStore } from "../../server/src/store/open.js";
import type { Store } from "../../server/src/store/port.js";
import { Db } from "../../server/src/store/redis/db.js";
import {
  MOVE_EVENTS,
  PEEK_INBOX,
  TRIM_INBOX,
} from "../../server/src/store/redis/scripts/outbox.js";
import { shardOf, shardTags } from "../../server/src/store/redis/shards.js";
import { jobEvent } from "../../server/src/domain/events.js";
import { job, scheduler } from "./contract/fixtures.js";
import { storeContract } from "./contract/index.js";
import {
  describeRedisCluster,
  startRedisCluster,
  type RedisCluster,
} from "../support/redis-cluster.js";

function openOn(url: string): Store {
  return openStore(JOBSTORE_URL.parse(url));
}

describeRedisCluster("Redis Cluster", () => {
  let cluster: RedisCluster;
  const prefix = (name: string) => `metronome_${name}_${randomBytes(4).toString("hex")}:`;
  const urlOf = (p: string, shards?: number) =>
    `${cluster.url}?prefix=${p}${shards === undefined ? "" : `&shards=${String(shards)}`}`;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  });

  storeContract({
    name: "Redis Cluster",
    create: () => {
      const url = urlOf(prefix("contract"));
      // Each store has a prefix of its own; the cluster and its keys go with the file.
      return Promise.resolve({ open: () => openOn(url), drop: () => Promise.resolve() });
    },
  });

  describe("the layout", () => {
    let raw: Cluster;
    beforeAll(() => {
      raw = cluster.client();
    });
    afterAll(() => {
      raw.disconnect();
    });

    /** The port of the master serving `slot`. */
    async function masterOf(slot: number): Promise<number> {
      const ranges = (await raw.cluster("SLOTS")) as unknown as [
        number,
        number,
        [string, number],
      ][];
      const owner = ranges.find(([low, high]) => slot >= low && slot <= high);
      if (owner === undefined) throw new Error(`no master serves slot ${String(slot)}`);
      return owner[2][1];
    }

    it("spread the shards over every master, each scheduler's keys in its shard's one slot", async () => {
      const tags = shardTags(16);
      const masters = new Set(await Promise.all(tags.map((t) => masterOf(calculateSlot(t)))));
      expect([...masters].sort()).toEqual([...cluster.ports].sort());

      const p = prefix("layout");
      const store = openOn(urlOf(p));
      try {
        await store.migrate();
        const names = Array.from({ length: 12 }, (_, i) => `sched-${String(i)}`);
        for (const name of names) {
          await store.insertScheduler(scheduler(name));
          expect(await store.insertJob(job(`j-${name}`, { scheduler: name }))).toBe(true);
        }
        for (const name of names) {
          const tag = tags[shardOf(name, 16)] ?? "";
          const keys: string[] = [];
          for (const port of cluster.ports) {
            const node = raw.nodes("master").find((n) => n.options.port === port);
            keys.push(...((await node?.keys(`${p}*\\[sched:${name}\\]*`)) ?? []));
          }
          expect(keys.length).toBeGreaterThan(0);
          expect(new Set(keys.map((k) => calculateSlot(k)))).toEqual(new Set([calculateSlot(tag)]));
        }
        const spread = new Set(
          await Promise.all(names.map((n) => masterOf(calculateSlot(tags[shardOf(n, 16)] ?? "")))),
        );
        expect(spread.size).toBeGreaterThan(1);
        expect((await store.listSchedulers()).map((s) => s.name)).toEqual([...names].sort());
      } finally {
        await store.close();
      }
    });

    it("refuse a store URL whose number of shards differs from the store's", async () => {
      const p = prefix("shards");
      const first = openOn(urlOf(p, 8));
      const second = openOn(urlOf(p, 16));
      try {
        await first.migrate();
        await expect(second.migrate()).rejects.toThrow(
          /holds a Metronome store of 8 shards.*says 16 \(set shards=8:/,
        );
      } finally {
        await first.close();
        await second.close();
      }
    });

    it("log a shard's events once when a move stopped after appending, and after trimming", async () => {
      const p = prefix("events");
      const store = openOn(urlOf(p, 4));
      try {
        await store.migrate();
        await store.insertScheduler(scheduler("ev"));
        for (const id of ["a", "b", "c"]) {
          const added = job(id, { scheduler: "ev" });
          await store.insertJob(added, [jobEvent("job_added", added, 1, "node-1")]);
        }
        const k = shardOf("ev", 4);
        const tags = shardTags(4);
        const shard = new Db(raw, p, tags[k]);
        const home = new Db(raw, p, "home");
        // A node appends the first two to the log and dies before trimming the inbox.
        const [trimmed, entries] = (await shard.run(PEEK_INBOX, { limit: "2" })) as [
          string,
          string[],
        ];
        expect(trimmed).toBe("0");
        await home.run(MOVE_EVENTS, { shard: String(k), first: "1", entries });
        // The next sequencing pass finishes the move without logging them again.
        expect(await store.sequenceEvents(100)).toBe(1);
        expect(await store.hasUnsequenced()).toBe(false);
        // An older move's trim, arriving late, changes nothing.
        expect(await shard.run(TRIM_INBOX, { upTo: "2" })).toBe(0);
        const read = await store.readEvents(0, (await store.logState()).last, 100);
        expect(read.events.map((e) => (e as { jobId?: string }).jobId)).toEqual(["a", "b", "c"]);
        expect(read.events.map((e) => e.cursor)).toEqual([1, 2, 3]);
      } finally {
        await store.close();
      }
    });

    it("keep working on a scheduler whose slot moves to another master (ASK, then MOVED)", async () => {
      const p = prefix("moved");
      const store = openOn(urlOf(p, 4));
      try {
        await store.migrate();
        await store.insertScheduler(scheduler("mv"));
        expect(await store.insertJob(job("before", { scheduler: "mv" }))).toBe(true);
        const tag = shardTags(4)[shardOf("mv", 4)] ?? "";
        const slot = calculateSlot(tag);
        const from = await masterOf(slot);
        const to = cluster.ports.find((port) => port !== from) ?? 0;
        // Part way (the keys moved, the slot still the old master's): the old master answers ASK.
        const finish = await startSlotMove(raw, slot, from, to);
        expect((await store.getJob("mv", "before"))?.id).toBe("before");
        expect(await store.insertJob(job("during", { scheduler: "mv" }))).toBe(true);
        // Whole (the slot the new master's): every node answers MOVED for it.
        await finish();
        expect(await masterOf(slot)).toBe(to);
        expect((await store.getJob("mv", "before"))?.id).toBe("before");
        expect(await store.insertJob(job("after", { scheduler: "mv" }))).toBe(true);
        expect(await store.countJobs("mv")).toBe(3);
        expect(
          (await store.listJobs({ scheduler: "mv", orderBy: "id", pageSize: 10 })).items.map(
            (j) => j.id,
          ),
        ).toEqual(["after", "before", "during"]);
      } finally {
        await store.close();
      }
    });
  });
});

describeRedisCluster("Redis Cluster failover", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(1);
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  });

  /** The port of the master serving `slot`, as the server on `port` sees the cluster. */
  async function masterSeenBy(port: number, slot: number): Promise<number | undefined> {
    const r = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
    r.on("error", () => undefined);
    try {
      const ranges = (await r.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
      return ranges.find(([low, high]) => slot >= low && slot <= high)?.[2][1];
    } finally {
      r.disconnect();
    }
  }

  /** Polls until `check` answers true (what it waits on is the cluster's own state). */
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`not reached in 30 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("keep a scheduler's jobs and take changes again once a replica took over its master", async () => {
    const store = openOn(`${cluster.url}?prefix=metronome_failover:&shards=4`);
    try {
      await store.migrate();
      await store.insertScheduler(scheduler("fo"));
      expect(await store.insertJob(job("before", { scheduler: "fo" }))).toBe(true);
      const slot = calculateSlot(shardTags(4)[shardOf("fo", 4)] ?? "");
      const first = cluster.ports[0] ?? 0;
      const master = (await masterSeenBy(first, slot)) ?? 0;
      // Redis replicates asynchronously: wait until the master's replica has what was written
      // (WAIT answers how many replicas acknowledged within its timeout; ask again until one).
      const direct = new Redis({ port: master, host: "127.0.0.1", maxRetriesPerRequest: 0 });
      direct.on("error", () => undefined);
      try {
        await until("the replica acknowledges the writes", async () => {
          return (await direct.wait(1, 1000)) === 1;
        });
      } finally {
        direct.disconnect();
      }

      await cluster.kill(master);
      const survivor = cluster.ports.find((p) => p !== master) ?? 0;
      await until("a replica serves the slot", async () => {
        const now = await masterSeenBy(survivor, slot);
        return now !== undefined && now !== master;
      });
      // The store answers UNAVAILABLE while the slot has no master, then works on the new one.
      await until("the store reads the job again", async () => {
        return (await store.getJob("fo", "before"))?.id === "before";
      });
      expect(await store.insertJob(job("after", { scheduler: "fo" }))).toBe(true);
      expect(await store.countJobs("fo")).toBe(2);
    } finally {
      await store.close();
    }
  });
});

/**
 * Starts moving `slot` and its keys from the master on port `from` to the one on `to`, as
 * resharding does: the keys are moved and the slot is marked migrating, so the old master answers
 * ASK for them. The function returned ends the move: every node then says the slot is the new
 * master's (MOVED).
 */
async function startSlotMove(
  raw: Cluster,
  slot: number,
  from: number,
  to: number,
): Promise<() => Promise<void>> {
  const node = (port: number) => {
    const n = raw.nodes("master").find((m) => m.options.port === port);
    if (n === undefined) throw new Error(`no master on ${String(port)}`);
    return n;
  };
  const source = node(from);
  const target = node(to);
  const sourceId = await source.cluster("MYID");
  const targetId = await target.cluster("MYID");
  await target.cluster("SETSLOT", slot, "IMPORTING", sourceId);
  await source.cluster("SETSLOT", slot, "MIGRATING", targetId);
  for (;;) {
    const keys = await source.cluster("GETKEYSINSLOT", slot, 100);
    if (keys.length === 0) break;
    await source.migrate("127.0.0.1", to, "", 0, 5000, "KEYS", ...keys);
  }
  return async () => {
    for (const n of raw.nodes("master")) await n.cluster("SETSLOT", slot, "NODE", targetId);
  };
}
