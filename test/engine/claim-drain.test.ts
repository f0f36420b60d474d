/**
 * A drain — claims that each take a full batch, one after another — goes on from where the last
 * claim stopped (ClaimRequest.after), instead of stepping again over the index entries that the
 * jobs it advanced left behind; a job changed to before its position starts it over, and so
 * does the end of the drain's time (CLAIM_SLICE_MS). On a real (embedded SQLite, in memory)
 * store and a manual clock; the store is observed, not replaced.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Run } from "../../server/src/domain/runs.js";
import type { Firing } from "../../server/src/engine/firing.js";
import { CLAIM_SLICE_MS } from "../../server/src/engine/firing.js";
import type { ClaimRequest } from "../../server/src/store/port.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { ManualClock } from "../support/clock.js";
import { scheduler } from "../store/contract/fixtures.js";
import { firingOn, insertDateJob } from "../support/firing.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const S = 1000;

describe("a drain of due jobs", () => {
  let store: SqliteStore;
  const clock = new ManualClock(T0);
  const claimed: Run[][] = [];
  const requests: ClaimRequest[] = [];
  let firing: Firing;

  beforeEach(async () => {
    store = SqliteStore.open(":memory:");
    await store.migrate();
    clock.set(T0);
    claimed.length = 0;
    requests.length = 0;
    const observed: ConstructorParameters<typeof Firing>[0] = {
      claimDueJobs: (request, events) => {
        requests.push(request);
        return store.claimDueJobs(request, events);
      },
      nextDueTime: (paused) => store.nextDueTime(paused),
    };
    firing = firingOn(observed, clock, 10, claimed);
    await store.insertScheduler(scheduler("default"));
    // 25 date jobs due over the last 25 seconds, the oldest first.
    for (let i = 0; i < 25; i++) {
      await insertDateJob(store, `j${String(i).padStart(2, "0")}`, T0 - (25 - i) * S);
    }
  });

  afterEach(async () => {
    await store.close();
  });

  const ids = (runs: readonly Run[] | undefined) => (runs ?? []).map((r) => r.jobId);

  it("goes on from the last claim's position, and each due job is claimed once", async () => {
    expect(await firing.pass()).toBe(T0); // a full batch: more may be due
    expect(requests[0]?.after).toBeUndefined();
    expect(ids(claimed[0])).toEqual([
      "j00",
      "j01",
      "j02",
      "j03",
      "j04",
      "j05",
      "j06",
      "j07",
      "j08",
      "j09",
    ]);
    await firing.pass();
    // From the position of the last job the first claim took (j09, due T0 - 16 s).
    expect(requests[1]?.after).toBe(T0 - 16 * S);
    expect(ids(claimed[1])[0]).toBe("j10");
    await firing.pass(); // five left: the drain ends
    expect(requests[2]?.after).toBe(T0 - 6 * S);
    await firing.pass();
    expect(requests[3]?.after).toBeUndefined();
    const all = claimed.flatMap(ids);
    expect(all).toHaveLength(25);
    expect(new Set(all).size).toBe(25);
  });

  it("a job changed to before the drain's position starts it over", async () => {
    await firing.pass();
    await insertDateJob(store, "late", T0 - 60 * S);
    firing.restart(T0 + 60 * S); // after the position: the drain goes on
    await firing.pass();
    expect(requests[1]?.after).toBe(T0 - 16 * S);
    expect(ids(claimed[1])).not.toContain("late");
    firing.restart(T0 - 60 * S);
    await firing.pass();
    expect(requests[2]?.after).toBeUndefined();
    expect(ids(claimed[2])[0]).toBe("late");
  });

  it("a drain goes on for CLAIM_SLICE_MS at most", async () => {
    await firing.pass();
    clock.set(T0 + CLAIM_SLICE_MS - 1);
    await firing.pass();
    expect(requests[1]?.after).toBe(T0 - 16 * S);
    clock.set(T0 + CLAIM_SLICE_MS);
    await firing.pass();
    expect(requests[2]?.after).toBeUndefined();
  });
});
