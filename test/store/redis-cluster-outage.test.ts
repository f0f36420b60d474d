/**
 * The Redis Cluster store while every node of its cluster is down: a store call fails
 * (UNAVAILABLE) at the next failed attempt to connect instead of waiting in the client's queue
 * for the cluster to come back, where it would be sent whenever that is: a write its caller was
 * told had failed would then commit (cluster-connection.ts). A cluster of this file's own.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { JOBSTORE_URL } from "../../server/src/config/store-url.js";
import { withDeadline } from "../../server/src/lib/deadline.js";
import { StoreTimeoutError, StoreUnavailableError } from "../../server/src/store/errors.js";
import { openStore } from "../../server/src/store/open.js";
import type { Store } from "../../server/src/store/port.js";
import { job } from "./contract/fixtures.js";
import {
  describeRedisCluster,
  startRedisCluster,
  type RedisCluster,
} from "../support/redis-cluster.js";

/** What `work` came to within `ms`: its error, its value, or "still waiting". */
async function within(ms: number, work: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const waiting = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      resolve("still waiting");
    }, ms);
  });
  try {
    return await Promise.race([
      work.then(
        (v) => ({ value: v }),
        (err: unknown) => err,
      ),
      waiting,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describeRedisCluster("Redis Cluster down", () => {
  let cluster: RedisCluster;
  let store: Store;
  const url = () => `${cluster.url}?prefix=metronome_outage:&shards=4`;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    store = openStore(JOBSTORE_URL.parse(url()));
    await store.migrate();
    expect(await store.insertJob(job("before"))).toBe(true);
    for (const port of cluster.ports) await cluster.kill(port);
  }, 60_000);

  afterAll(async () => {
    await store.close().catch(() => undefined);
    await cluster.stop();
  });

  it("a call without a deadline (the engine's) fails UNAVAILABLE instead of waiting for the cluster", async () => {
    const outcome = await within(10_000, store.insertJob(job("late")));
    expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect(await within(10_000, store.nextDueTime([]))).toBeInstanceOf(StoreUnavailableError);
  });

  it("a call with a deadline fails UNAVAILABLE before its deadline", async () => {
    const outcome = await within(
      10_000,
      withDeadline(Date.now() + 5000, () => store.getJob("default", "before")),
    );
    // Failed by the failed attempt to connect, not by running out of time.
    expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect(outcome).not.toBeInstanceOf(StoreTimeoutError);
  });

  it("a store opened while its cluster is unreachable fails its first call", async () => {
    const other = openStore(JOBSTORE_URL.parse(url()));
    try {
      expect(await within(10_000, other.ping())).toBeInstanceOf(StoreUnavailableError);
    } finally {
      await other.close().catch(() => undefined);
    }
  });
});
