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
    const b = new Batcher(m.load, { maxInFlight: 1 });
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
      const b = new Batcher(m.load, { lingerMs: 5 });
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
      const b = new Batcher(m.load, { maxBatch: 3, lingerMs: 1000 });
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
    const b = new Batcher(m.load, { maxInFlight: 2 });
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
    const b = new Batcher(m.load, { maxInFlight: 1 });
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

  describe("with isolate", () => {
    /** A load that refuses any batch holding "bad" (or everything once `down`), recording batches. */
    function refusingLoad() {
      const state = { down: false, batches: [] as string[][] };
      const load = (keys: string[]) => {
        state.batches.push(keys);
        if (state.down) return Promise.reject(new Error("database down"));
        if (keys.includes("bad")) return Promise.reject(new Error(`refused ${keys.join()}`));
        return Promise.resolve(keys.map((k) => k.toUpperCase()));
      };
      return { state, load };
    }

    it("loads a failed batch again in halves: the item at fault fails alone, the others are answered", async () => {
      const r = refusingLoad();
      const b = new Batcher(r.load, {
        maxInFlight: 1,
        isolate: (err) => !(err instanceof Error && err.message === "database down"),
      });
      const keys = ["a", "b", "c", "bad", "d", "e", "f", "g"];
      const settled = await Promise.allSettled(keys.map((k) => b.run(k)));
      expect(settled.map((x) => (x.status === "fulfilled" ? x.value : "rejected"))).toEqual([
        "A",
        "B",
        "C",
        "rejected",
        "D",
        "E",
        "F",
        "G",
      ]);
      const bad = settled[3];
      expect(bad?.status === "rejected" && String(bad.reason)).toBe("Error: refused bad");
      // The whole batch, then halves down to the bad item: 2·log₂(8) further loads, and every
      // other item loaded successfully exactly once.
      expect(r.state.batches).toEqual([
        keys,
        ["a", "b", "c", "bad"],
        ["a", "b"],
        ["c", "bad"],
        ["c"],
        ["bad"],
        ["d", "e", "f", "g"],
      ]);
    });

    it("holds its slot while it isolates: items queued meanwhile wait", async () => {
      const r = refusingLoad();
      const b = new Batcher(r.load, { maxInFlight: 1, isolate: () => true });
      const first = Promise.allSettled(["bad", "x"].map((k) => b.run(k)));
      await turn();
      const later = b.run("y");
      expect((await first).map((x) => x.status)).toEqual(["rejected", "fulfilled"]);
      expect(await later).toBe("Y");
      expect(r.state.batches).toEqual([["bad", "x"], ["bad"], ["x"], ["y"]]);
    });

    it("rejects the whole batch at once when isolate refuses the error", async () => {
      const r = refusingLoad();
      r.state.down = true;
      const b = new Batcher(r.load, {
        isolate: (err) => !(err instanceof Error && err.message === "database down"),
      });
      const settled = await Promise.allSettled(["a", "b", "c"].map((k) => b.run(k)));
      expect(settled.map((x) => x.status)).toEqual(["rejected", "rejected", "rejected"]);
      expect(r.state.batches).toEqual([["a", "b", "c"]]);
    });
  });

  it("rejects every item of a load that answers the wrong number of results", async () => {
    const b = new Batcher((keys: string[]) => Promise.resolve(keys.slice(1)), {
      maxInFlight: 1,
    });
    const all = Promise.allSettled([b.run("a"), b.run("b")]);
    expect((await all).map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("caps a batch at maxBatch items", async () => {
    const m = manualLoad();
    const b = new Batcher(m.load, { maxInFlight: 1, maxBatch: 2 });
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
      { maxInFlight: 1, maxBatch: 10, late: () => new Error("too late") },
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
