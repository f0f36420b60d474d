/**
 * ListJobs on a Redis Cluster store: each shard lists its schedulers from the page token's
 * position a part at a time (store/redis/list-jobs.ts) and the pages of the shards are merged
 * (across-shards.ts): every page across schedulers spread over the shards, in both orders and
 * with filters, among many jobs of one next run time, is the reference's.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { JOBSTORE_URL } from "../../server/src/config/store-url.js";
import type { Job } from "../../server/src/domain/jobs.js";
import { openStore } from "../../server/src/store/open.js";
import type { Store } from "../../server/src/store/port.js";
import { job, T0, S } from "./contract/fixtures.js";
import { type Query, reference, referencePages, walk } from "../support/job-listing.js";
import {
  describeRedisCluster,
  startRedisCluster,
  type RedisCluster,
} from "../support/redis-cluster.js";

describeRedisCluster("ListJobs on a Redis Cluster", () => {
  let cluster: RedisCluster;
  let store: Store;
  const all: Job[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const prefix = `metronome_listing_${randomBytes(4).toString("hex")}:`;
    store = openStore(JOBSTORE_URL.parse(`${cluster.url}?prefix=${prefix}`));
    await store.migrate();
    for (let k = 0; k < 12; k++) {
      for (let i = 0; i < 60; i++) {
        const paused = i % 5 === 1;
        all.push(
          job(`${["a", "B", "c-", "d.", "e_", "f:"][i % 6] as string}${String(i)}`, {
            scheduler: `sched-${String(k).padStart(2, "0")}`,
            handler: i % 2 === 0 ? "h.even" : "h.odd",
            paused,
            // Half of them at one time, in every scheduler: ties across shards too.
            nextRunTime: paused ? null : i % 2 === 0 ? T0 : T0 + ((i * 7) % 11) * S,
          }),
        );
      }
    }
    const inserted = await Promise.all(all.map((j) => store.insertJob(j)));
    expect(inserted.every(Boolean)).toBe(true);
  }, 90_000);

  afterAll(async () => {
    await store.close();
    await cluster.stop();
  });

  for (const orderBy of ["id", "next_run_time"] as const) {
    it(`${orderBy}: every page across the shards is the reference's`, async () => {
      const filters: Partial<Query>[] = [
        {},
        { handler: "h.odd" },
        { paused: true },
        { idPrefix: "c-" },
      ];
      for (const f of filters) {
        for (const pageSize of [9, 100]) {
          const q: Query = { orderBy, pageSize, ...f };
          const pages = await walk((x) => store.listJobs(x), q);
          expect(pages, JSON.stringify(q)).toEqual(referencePages(reference(all, q), q));
        }
      }
    });
  }
});
