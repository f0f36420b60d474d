import { afterEach, describe, expect, it, vi } from "vitest";
import { Batcher } from "../../../server/src/lib/batcher.js";
import { currentDeadline, withDeadline } from "../../../server/src/lib/deadline.js";

/** A load function the test completes by hand, recording the batches it was given. */
function manualLoad() {
  const batches: string[][] = [];
  const pending: (() => void)[] = [];
  const load = (keys: string[]) =>
    new Promise<(string | null)[]>((resolve, reject) => {
      batches.push(keys);
      pending.push(() => {
        if (keys.includes("boom")) reject(new Error("boom"));
        else resolve(keys.map((k) => (k === "absent" ? null : k.toUpperCase())));
      });
    });
  return { batches, load, finishNext: () => pending.shift()?.() };
}

/** One turn of the event loop: queued items are sent, settled loads have done their bookkeeping. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Batcher", () => {
  it("sends what arrived in one turn together, then coalesces what waits for a free slot", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, 1);
    const first = ["a", "b"].map((k) => b.run(k));
    expect(m.batches).toEqual([]); // nothing is sent before the end of the turn
    await turn();
    expect(m.batches).toEqual([["a", "b"]]);
    const rest = ["c", "d", "e"].map((k) => b.run(k));
    await turn();
    expect(m.batches).toHaveLength(1); // the only slot is busy
    m.finishNext();
    await turn();
    expect(m.batches).toEqual([
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    m.finishNext();
    expect(await Promise.all([...first, ...rest])).toEqual(["A", "B", "C", "D", "E"]);
  });

  describe("with lingerMs", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("holds the first item that long for others, then sends them together", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const m = manualLoad();
      const b = new Batcher(m.load, 2, 100, undefined, 5);
      const a = b.run("a");
      await turn();
      vi.advanceTimersByTime(4);
      await turn();
      expect(m.batches).toEqual([]); // still lingering
      const c = b.run("c");
      vi.advanceTimersByTime(1);
      await turn();
      expect(m.batches).toEqual([["a", "c"]]);
      m.finishNext();
      expect(await Promise.all([a, c])).toEqual(["A", "C"]);
    });

    it("sends a full batch at once, without waiting out the linger", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const m = manualLoad();
      const b = new Batcher(m.load, 2, 3, undefined, 1000);
      const items = ["x", "y", "z"].map((k) => b.run(k));
      await turn();
      expect(m.batches).toEqual([["x", "y", "z"]]);
      const w = b.run("w"); // a new linger starts for the next batch
      await turn();
      expect(m.batches).toHaveLength(1);
      vi.advanceTimersByTime(1000);
      await turn();
      expect(m.batches).toEqual([["x", "y", "z"], ["w"]]);
      m.finishNext();
      m.finishNext();
      expect(await Promise.all([...items, w])).toEqual(["X", "Y", "Z", "W"]);
    });
  });

  it("uses up to maxInFlight slots at once", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, 2);
    const x = b.run("x");
    await turn();
    const y = b.run("y");
    await turn();
    const z = b.run("z");
    await turn();
    expect(m.batches).toEqual([["x"], ["y"]]);
    m.finishNext();
    await turn();
    expect(m.batches).toEqual([["x"], ["y"], ["z"]]);
    m.finishNext();
    m.finishNext();
    expect(await Promise.all([x, y, z])).toEqual(["X", "Y", "Z"]);
  });

  it("answers each item its own result, and rejects a failed batch's items only", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, 1);
    const ok = b.run("ok");
    await turn();
    const boom = b.run("boom");
    const absent = b.run("absent");
    m.finishNext();
    expect(await ok).toBe("OK");
    await turn();
    expect(m.batches).toEqual([["ok"], ["boom", "absent"]]);
    m.finishNext();
    await expect(boom).rejects.toThrow("boom");
    await expect(absent).rejects.toThrow("boom"); // same batch as "boom"
    const later = b.run("absent");
    await turn();
    m.finishNext();
    expect(await later).toBeNull();
  });

  it("rejects every item of a load that answers the wrong number of results", async () => {
    const b = new Batcher((keys: string[]) => Promise.resolve(keys.slice(1)), 1);
    const all = Promise.allSettled([b.run("a"), b.run("b")]);
    expect((await all).map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("caps a batch at maxBatch items", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, 1, 2);
    const all = Promise.all(["a", "b", "c", "d", "e"].map((k) => b.run(k)));
    await turn();
    for (let i = 0; i < 3; i++) {
      m.finishNext();
      await turn();
    }
    expect(m.batches).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(await all).toEqual(["A", "B", "C", "D", "E"]);
  });

  it("runs each batch under its own items' earliest deadline, not the first caller's", async () => {
    // A load that records the deadline it runs under, finished by hand.
    const seen: (number | undefined)[] = [];
    const pending: (() => void)[] = [];
    const b = new Batcher(
      (keys: string[]) =>
        new Promise<string[]>((resolve) => {
          seen.push(currentDeadline());
          pending.push(() => {
            resolve(keys);
          });
        }),
      1,
      10,
      () => new Error("too late"),
    );
    const far = Date.now() + 3_600_000;
    const first = withDeadline(far, () => b.run("a"));
    await turn();
    // Queued while the first batch is out: sent by the chain the first call's item started.
    const second = withDeadline(far + 1000, () => b.run("b"));
    const third = withDeadline(far + 2000, () => b.run("c"));
    const late = expect(withDeadline(Date.now() - 1, () => b.run("late"))).rejects.toThrow(
      "too late",
    );
    pending.shift()?.();
    await turn();
    // An item without a deadline, queued behind the second batch: sent without one.
    const none = b.run("none");
    pending.shift()?.();
    expect(await Promise.all([first, second, third])).toEqual(["a", "b", "c"]);
    await late;
    await turn();
    pending.shift()?.();
    expect(await none).toBe("none");
    expect(seen).toEqual([far, far + 1000, undefined]);
  });
});
