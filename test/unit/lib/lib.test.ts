import { describe, expect, it } from "vitest";
import { chunks } from "../../../server/src/lib/chunks.js";
import { CallStorage } from "../../../server/src/lib/call-storage.js";
import { Coalesced } from "../../../server/src/lib/coalesced.js";
import { RecentKeys } from "../../../server/src/lib/recent-keys.js";
import { serial } from "../../../server/src/lib/serial.js";
import { Waiter } from "../../../server/src/lib/waiter.js";
import { ManualClock } from "../../support/clock.js";

/** A promise the test settles by hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("serial", () => {
  it("runs one call at a time, in order; a rejection does not stop the next", async () => {
    const log: string[] = [];
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    let i = 0;
    const step = serial(() => {
      const n = i++;
      log.push(`start ${String(n)}`);
      return (gates[n] as ReturnType<typeof deferred<number>>).promise;
    });
    const a = step();
    const b = step();
    const c = step();
    await turn();
    expect(log).toEqual(["start 0"]);
    gates[0]?.reject(new Error("first"));
    await expect(a).rejects.toThrow("first");
    await turn();
    expect(log).toEqual(["start 0", "start 1"]);
    gates[1]?.resolve(1);
    expect(await b).toBe(1);
    gates[2]?.resolve(2);
    expect(await c).toBe(2);
    expect(log).toEqual(["start 0", "start 1", "start 2"]);
  });
});

describe("Coalesced", () => {
  it("runs its task outside the requesting call's context (deadline, actor, key)", async () => {
    const calls = new CallStorage<string>();
    const seen: (string | undefined)[] = [];
    const task = new Coalesced(() => {
      seen.push(calls.get());
      return Promise.resolve();
    });
    await calls.run("an API call's deadline", () => {
      task.request();
      seen.push(calls.get());
      return Promise.resolve();
    });
    await task.idle();
    expect(seen).toEqual([undefined, "an API call's deadline"]);
  });

  it("requests during a run make one more run, not one per request", async () => {
    let runs = 0;
    let gate = deferred();
    const task = new Coalesced(async () => {
      runs++;
      await gate.promise;
    });
    task.request();
    task.request();
    task.request();
    expect(runs).toBe(1);
    const first = gate;
    gate = deferred();
    first.resolve();
    await turn();
    expect(runs).toBe(2);
    gate.resolve();
    await task.idle();
    expect(runs).toBe(2);
    task.request();
    await task.idle();
    expect(runs).toBe(3);
  });
});

describe("Waiter", () => {
  it("sleeps until the clock time, or until woken", async () => {
    const clock = new ManualClock(1000);
    const w = new Waiter();
    let done = false;
    const sleeping = w.sleep(clock, 2000).then(() => (done = true));
    clock.set(1500);
    await turn();
    expect(done).toBe(false);
    clock.set(2000);
    await sleeping;
    // Woken before the end.
    done = false;
    const again = w.sleep(clock, 9000).then(() => (done = true));
    w.wake();
    await again;
    expect(done).toBe(true);
  });

  it("wakeFor ends a sleep only for an earlier time; a wake while awake skips the next sleep", async () => {
    const clock = new ManualClock(0);
    const w = new Waiter();
    let done = false;
    const sleeping = w.sleep(clock, 1000).then(() => (done = true));
    w.wakeFor(5000);
    await turn();
    expect(done).toBe(false);
    w.wakeFor(500);
    await sleeping;
    w.wakeFor(10_000); // not asleep: the next sleep returns at once
    await w.sleep(clock, 1_000_000);
  });
});

describe("chunks", () => {
  it("cuts into parts of at most the size", () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
  });
});

describe("RecentKeys", () => {
  it("keeps at least the last `keep` keys added, and forgets older ones", () => {
    const keys = new RecentKeys(3);
    for (const k of ["a", "b", "c", "d", "e", "f", "g"]) keys.add(k);
    // The last three are kept whatever the generations' boundary.
    expect(["e", "f", "g"].every((k) => keys.has(k))).toBe(true);
    // At most twice `keep`: the first ones are gone.
    expect(["a", "b", "c"].some((k) => keys.has(k))).toBe(false);
    expect(keys.has("never")).toBe(false);
  });

  it("holds every key while fewer than `keep` were added", () => {
    const keys = new RecentKeys(100);
    for (let i = 0; i < 99; i++) keys.add(String(i));
    for (let i = 0; i < 99; i++) expect(keys.has(String(i))).toBe(true);
  });
});
