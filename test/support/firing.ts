/**
 * A node's firing pass on a real store and a manual clock, for tests of its claims
 * (test/engine/claim-*.test.ts): the runs each claim made are recorded in `claimed`.
 */
import { pino } from "pino";
import type { Run } from "../../server/src/domain/runs.js";
import { Firing } from "../../server/src/engine/firing.js";
import type { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { job } from "../store/contract/fixtures.js";
import type { ManualClock } from "./clock.js";

export function firingOn(
  store: ConstructorParameters<typeof Firing>[0],
  clock: ManualClock,
  claimBatch: number,
  claimed: Run[][],
): Firing {
  return new Firing(
    store,
    clock,
    pino({ level: "silent" }),
    { nodeId: "n1", pollIntervalMs: 60_000, claimBatch },
    {
      runsPending: () => undefined,
      claimed: (runs) => {
        claimed.push([...runs]);
        return Promise.resolve();
      },
    },
  );
}

/** Inserts a date job due at `at`. */
export async function insertDateJob(store: SqliteStore, id: string, at: number): Promise<void> {
  await store.insertJob(
    job(id, { trigger: { type: "date", runDate: at, timezone: "UTC" }, nextRunTime: at }),
  );
}
