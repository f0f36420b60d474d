/**
 * PostgreSQL's stores tell each other of their changes (LISTEN/NOTIFY, store/postgres/changes.ts):
 * two stores on one database, as two nodes. Each waits for the other's notice; none hears its
 * own. (The engine's use of the notices is in test/engine/notices.test.ts.)
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { nodeEvent } from "../../server/src/domain/events.js";
import type { Store, StoreChange } from "../../server/src/store/port.js";
import { PostgresStore } from "../../server/src/store/postgres/store.js";
import { job, pendingRun, T0 } from "./contract/fixtures.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";

/** The changes a store hears, and a way to wait for the next one. */
function hear(store: Store): { heard: StoreChange[]; next(): Promise<StoreChange> } {
  const heard: StoreChange[] = [];
  let waiting: ((c: StoreChange) => void) | undefined;
  store.onChange((c) => {
    heard.push(c);
    const w = waiting;
    waiting = undefined;
    w?.(c);
  });
  return {
    heard,
    next: () =>
      new Promise((resolve) => {
        waiting = resolve;
      }),
  };
}

describePostgres("PostgreSQL change notices between nodes", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let a: PostgresStore;
  let b: PostgresStore;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    a = PostgresStore.open(db.url);
    b = PostgresStore.open(db.url);
    await a.migrate();
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it("a job added, runs created and events sequenced on one node are heard on the other, not on itself", async () => {
    const onA = hear(a);
    const onB = hear(b);
    await Promise.all([a.listening(), b.listening()]);

    let heard = onB.next();
    expect(await a.insertJob(job("n1", { nextRunTime: T0 }))).toBe(true);
    expect(await heard).toBe("jobs");

    heard = onB.next();
    const claimed = await a.claimDueJobs({
      horizon: T0,
      limit: 10,
      plan: (j) => ({ runs: [pendingRun(j, T0)], nextRunTime: null }),
    });
    expect(claimed.runs).toHaveLength(1);
    expect(await heard).toBe("runs");

    // B's own change: A hears it, and before it nothing of its own (notices arrive in commit
    // order, so A's own two would have come first).
    const heardByA = onA.next();
    await b.appendEvents([nodeEvent("scheduler_started", T0, "node-b")]);
    expect(await b.sequenceEvents(10)).toBe(1);
    expect(await heardByA).toBe("events");
    expect(onA.heard).toEqual(["events"]);
    expect(onB.heard).toEqual(["jobs", "runs"]);
  });
});
