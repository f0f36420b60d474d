/**
 * The store contract: what every implementation of the store port (server/src/store/port.ts)
 * must do, run against each (test/store/*-store.test.ts). A new store joins by adding a test
 * file that calls `storeContract` with its factory (docs/storage.md).
 */
import { describe } from "vitest";
import { claimsContract } from "./claims.js";
import { contentionContract } from "./contention.js";
import { eventsContract } from "./events.js";
import type { StoreFactory } from "./fixtures.js";
import { jobsContract } from "./jobs.js";
import { keptPreparedContract } from "./kept-prepared.js";
import { keysContract } from "./keys.js";
import { largeBatchesContract } from "./large-batches.js";
import { leasesContract } from "./leases.js";
import { preparedRunsContract } from "./prepared-runs.js";
import { resultsContract } from "./results.js";
import { sweepsContract } from "./sweeps.js";
import { workersContract } from "./workers.js";

export type { StoreFactory } from "./fixtures.js";

export function storeContract(factory: StoreFactory): void {
  describe(`${factory.name} store`, () => {
    jobsContract(factory);
    claimsContract(factory);
    preparedRunsContract(factory);
    keptPreparedContract(factory);
    leasesContract(factory);
    resultsContract(factory);
    sweepsContract(factory);
    eventsContract(factory);
    workersContract(factory);
    contentionContract(factory);
    keysContract(factory);
    largeBatchesContract(factory);
  });
}
