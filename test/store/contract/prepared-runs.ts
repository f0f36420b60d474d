/**
 * Runs prepared ahead and jitter: a run is prepared (withdrawn when its job changes, is removed,
 * or its scheduler resumes from a pause) while it is not due yet — its due time, the nominal
 * time plus jitter, is after now — whatever its nominal time. With jitter a run whose nominal
 * time has passed can be up to `jitter` from firing: a pause, new arguments or a new trigger
 * must still apply to it (docs/guarantees.md: a paused job creates no runs; jitter only shifts when a fire
 * happens). A run already due waits for a worker: it is a fire, and stays (cancelled when its
 * job is removed).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../../server/src/domain/jobs.js";
import type { Run } from "../../../server/src/domain/runs.js";
import type { Store } from "../../../server/src/store/port.js";
import { addRun, job, must, S, T0, useStores, type StoreFactory } from "./fixtures.js";

const HOUR = 3600 * S;

/** A pending run of `j` for the nominal time `nominal`, jittered by `jitter`: due at the sum. */
function jitteredRun(store: Store, j: Job, nominal: number, jitter: number): Promise<Run> {
  const fire = nominal + jitter;
  return addRun(store, j, nominal, { fireTime: fire, dueAt: fire, expiresAt: null });
}

/** What a change of a job does to it, as the management layer writes it. */
const CHANGES: readonly (readonly [name: string, change: (current: Job) => Job])[] = [
  ["a pause", (c) => ({ ...c, paused: true, nextRunTime: null, version: c.version + 1 })],
  ["new arguments", (c) => ({ ...c, args: ["changed"], version: c.version + 1 })],
  [
    "a new trigger",
    (c) => ({
      ...c,
      trigger: { type: "crontab", expression: "30 4 * * *", timezone: "UTC" },
      nextRunTime: T0 + 4.5 * HOUR,
      version: c.version + 1,
    }),
  ],
];

export function preparedRunsContract(factory: StoreFactory): void {
  describe("runs prepared ahead, with jitter", () => {
    const stores = useStores(factory);
    let store: Store;
    beforeAll(() => {
      store = stores.store;
    });

    for (const [name, change] of CHANGES) {
      it(`updateJob (${name}) withdraws a run past its nominal time but before its jittered time`, async () => {
        const s = `jitter-update-${name.replaceAll(" ", "-")}`;
        const j = job("j", { scheduler: s, handler: `h.${s}`, nextRunTime: T0 + HOUR });
        // Nominal T0, due T0 + 40 min; nominal T0 + 10 min, due T0 + 15 min; now T0 + 20 min.
        const prepared = await jitteredRun(store, j, T0, 40 * 60 * S);
        const due = await jitteredRun(store, j, T0 + 10 * 60 * S, 5 * 60 * S);
        const now = T0 + 20 * 60 * S;
        const seen: (number | null)[] = [];
        const after = await store.updateJob(
          s,
          "j",
          (current) => {
            seen.push(current.nextRunTime);
            return change(current);
          },
          now,
        );
        // The change saw the job as if the prepared run had never been made.
        expect(seen.at(-1)).toBe(T0);
        expect(after).toEqual(change({ ...j, nextRunTime: T0 }));
        expect(await store.getJob(s, "j")).toEqual(after);
        expect(await store.getRun(prepared.id)).toBeNull();
        // Due (its jittered time has come): a fire waiting for a worker, not withdrawn.
        expect(await store.getRun(due.id)).toMatchObject({ status: "pending", dueAt: due.dueAt });
      });
    }

    it("removing a job withdraws a run past its nominal time but before its jittered time", async () => {
      const s = "jitter-remove";
      const j = job("j", { scheduler: s, handler: `h.${s}`, nextRunTime: T0 + HOUR });
      const prepared = await jitteredRun(store, j, T0, 40 * 60 * S);
      const due = await jitteredRun(store, j, T0 + 10 * 60 * S, 5 * 60 * S);
      const now = T0 + 20 * 60 * S;
      expect(await store.deleteJob(s, "j", { cancelPendingRunsAt: now })).toBe(true);
      expect(await store.getRun(prepared.id)).toBeNull();
      expect(await store.getRun(due.id)).toMatchObject({
        status: "cancelled",
        statusReason: "job removed",
      });
    });

    it("removing all jobs withdraws a run past its nominal time but before its jittered time", async () => {
      const s = "jitter-remove-all";
      const j = job("j", { scheduler: s, handler: `h.${s}`, nextRunTime: T0 + HOUR });
      const prepared = await jitteredRun(store, j, T0, 40 * 60 * S);
      const due = await jitteredRun(store, j, T0 + 10 * 60 * S, 5 * 60 * S);
      const now = T0 + 20 * 60 * S;
      expect(await store.deleteAllJobs(s, { cancelPendingRunsAt: now })).toBe(1);
      expect(await store.getRun(prepared.id)).toBeNull();
      expect((await store.getRun(due.id))?.status).toBe("cancelled");
    });

    it("resuming a scheduler withdraws a run whose jittered time came during the pause", async () => {
      const s = "jitter-resume";
      const j = job("j", { scheduler: s, handler: `h.${s}`, nextRunTime: T0 + HOUR });
      // Paused at T0 + 20 min: the first run was not due yet (T0 + 40 min), the second was.
      const prepared = await jitteredRun(store, j, T0, 40 * 60 * S);
      const due = await jitteredRun(store, j, T0 + 10 * 60 * S, 5 * 60 * S);
      expect(await store.withdrawPreparedRuns(s, T0 + 20 * 60 * S)).toBe(1);
      expect(await store.getRun(prepared.id)).toBeNull();
      expect((await store.getRun(due.id))?.status).toBe("pending");
      // Rewound to the withdrawn run's nominal time: the misfire rules decide what it becomes.
      expect(must(await store.getJob(s, "j")).nextRunTime).toBe(T0);
    });
  });
}
