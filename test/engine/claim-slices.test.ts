/**
 * The firing pass claims fire times in slices (CLAIM_SLICE_MS): with jobs due at times spread
 * out, a pass that finds the next one just beyond the lookahead sleeps until the slice after it
 * is within the lookahead too, and then claims that whole slice at once. On a real (embedded
 * SQLite, in memory) store and a manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Run } from "../../server/src/domain/runs.js";
import type { Firing } from "../../server/src/engine/firing.js";
import { CLAIM_SLICE_MS, LOOKAHEAD_MS } from "../../server/src/engine/firing.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { ManualClock } from "../support/clock.js";
import { scheduler } from "../store/contract/fixtures.js";
import { firingOn, insertDateJob } from "../support/firing.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");

describe("claims in slices", () => {
  let store: SqliteStore;
  const clock = new ManualClock(T0);
  const claimed: Run[][] = [];
  let firing: Firing;

  beforeEach(async () => {
    store = SqliteStore.open(":memory:");
    await store.migrate();
    clock.set(T0);
    claimed.length = 0;
    firing = firingOn(store, clock, 1000, claimed);
    await store.insertScheduler(scheduler("default"));
    // 50 date jobs, one every 10 ms from T0 + LOOKAHEAD_MS on.
    for (let i = 0; i < 50; i++) {
      await insertDateJob(store, `j${String(i).padStart(2, "0")}`, T0 + LOOKAHEAD_MS + i * 10);
    }
  });

  afterEach(async () => {
    await store.close();
  });

  it("sleeps past the next fire time's entry into the lookahead by one slice, then claims the slice", async () => {
    // Only the first job is within the lookahead now.
    const wake = await firing.pass();
    expect(claimed.at(-1)?.map((r) => r.jobId)).toEqual(["j00"]);
    // The next (T0 + LOOKAHEAD_MS + 10) enters the lookahead at T0 + 10: the pass waits a slice
    // longer, instead of waking for it alone.
    expect(wake).toBe(T0 + 10 + CLAIM_SLICE_MS);
    clock.set(wake);
    const next = await firing.pass();
    // Every fire time up to wake + LOOKAHEAD_MS, in one claim: j01 … j26.
    const second = claimed.at(-1)?.map((r) => r.jobId) ?? [];
    expect(second).toHaveLength(26);
    expect(second[0]).toBe("j01");
    expect(second.at(-1)).toBe("j26");
    // Each was claimed at least LOOKAHEAD_MS − CLAIM_SLICE_MS before its fire time.
    for (const r of claimed.flat()) expect(r.fireTime - T0).toBeGreaterThanOrEqual(LOOKAHEAD_MS);
    expect(Math.min(...(claimed[1] ?? []).map((r) => r.fireTime)) - wake).toBeGreaterThanOrEqual(
      LOOKAHEAD_MS - CLAIM_SLICE_MS,
    );
    expect(next).toBe(T0 + 270 + CLAIM_SLICE_MS);
  });
});
