import { describe, expect, it } from "vitest";
import { Batcher } from "../../../server/src/store/batcher.js";

/** A load function the test completes by hand, recording the batches it was given. */
function manualLoad() {
  const batches: string[][] = [];
  const pending: (() => void)[] = [];
  const load = (keys: string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => {
      batches.push(keys);
      pending.push(() => {
        if (keys.includes("boom")) reject(new Error("boom"));
        else resolve(new Map(keys.filter((k) => k !== "absent").map((k) => [k, k.toUpperCase()])));
      });
    });
  return { batches, load, finishNext: () => pending.shift()?.() };
}

/** Let settled loads run their bookkeeping (the next batch is sent after a load settles). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Batcher", () => {
  it("sends at once while under the in-flight limit, then coalesces waiting keys", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, (k: string) => k, 2);
    const results = ["a", "b", "c", "d", "e"].map((k) => b.get(k));
    expect(m.batches).toEqual([["a"], ["b"]]);
    m.finishNext();
    await settle();
    expect(m.batches).toEqual([["a"], ["b"], ["c", "d", "e"]]);
    m.finishNext();
    m.finishNext();
    expect(await Promise.all(results)).toEqual(["A", "B", "C", "D", "E"]);
  });

  it("answers null for a key the load did not find, and rejects a failed batch's keys only", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, (k: string) => k, 1);
    const ok = b.get("ok");
    const boom = b.get("boom");
    const absent = b.get("absent");
    m.finishNext();
    expect(await ok).toBe("OK");
    await settle();
    expect(m.batches).toEqual([["ok"], ["boom", "absent"]]);
    m.finishNext();
    await expect(boom).rejects.toThrow("boom");
    await expect(absent).rejects.toThrow("boom"); // same batch as "boom"
    await settle();
    const later = b.get("absent");
    m.finishNext();
    expect(await later).toBeNull();
  });

  it("caps a batch at maxBatch keys", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, (k: string) => k, 1, 2);
    const all = Promise.all(["a", "b", "c", "d", "e"].map((k) => b.get(k)));
    for (let i = 0; i < 4; i++) {
      m.finishNext();
      await settle();
    }
    expect(m.batches).toEqual([["a"], ["b", "c"], ["d", "e"]]);
    expect(await all).toEqual(["A", "B", "C", "D", "E"]);
  });
});
