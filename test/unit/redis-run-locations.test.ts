/**
 * Which shard of a Redis Cluster store holds a run (store/redis/run-locations.ts): remembered up
 * to a limit, the oldest forgotten first, whether learnt from the node's own writes (remember)
 * or by asking the shards (locate).
 */
import { describe, expect, it } from "vitest";
import type { Db } from "../../server/src/store/redis/db.js";
import { RunLocations } from "../../server/src/store/redis/run-locations.js";

/** Two shards: shard k holds the runs `run-<n>` with n % 2 === k; counts the runs asked of them. */
function shards(): { dbs: Db[]; asked: string[] } {
  const asked: string[] = [];
  const dbs = [0, 1].map(
    (k) =>
      ({
        runSchedulers: (ids: readonly string[]) => {
          if (k === 0) asked.push(...ids);
          return Promise.resolve(
            new Map(ids.filter((id) => Number(id.slice(4)) % 2 === k).map((id) => [id, "s"])),
          );
        },
      }) as unknown as Db,
  );
  return { dbs, asked };
}

const ids = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `run-${String(from + i)}`);

describe("run locations on a Redis Cluster", () => {
  it("runs found by asking the shards are remembered up to the limit, the oldest forgotten first", async () => {
    const { dbs, asked } = shards();
    const locations = new RunLocations(dbs, () => 0, 10);
    for (let i = 0; i < 100; i += 5) {
      const found = await locations.locate(ids(i, 5));
      expect(found).toEqual(ids(i, 5).map((id) => Number(id.slice(4)) % 2));
      expect(locations.size).toBeLessThanOrEqual(10);
    }
    expect(locations.size).toBe(10);
    // The newest ten are known (no shard asked); the oldest are asked again.
    asked.length = 0;
    await locations.locate(ids(90, 10));
    expect(asked).toEqual([]);
    await locations.locate(["run-0"]);
    expect(asked).toEqual(["run-0"]);
  });

  it("a lookup of more runs than the limit answers every one of them, and keeps the limit", async () => {
    const { dbs } = shards();
    const locations = new RunLocations(dbs, () => 0, 4);
    const many = ids(0, 9);
    expect(await locations.locate(many)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(locations.size).toBe(4);
  });

  it("runs the node wrote are remembered within the same limit", async () => {
    const { dbs, asked } = shards();
    const locations = new RunLocations(dbs, (s) => (s === "odd" ? 1 : 0), 3);
    locations.remember(ids(0, 5).map((id) => ({ id, scheduler: "odd" })));
    expect(locations.size).toBe(3);
    expect(await locations.locate(ids(2, 3))).toEqual([1, 1, 1]);
    expect(asked).toEqual([]);
  });
});
