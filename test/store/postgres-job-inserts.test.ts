/**
 * PostgreSQL commits concurrent job inserts in groups (store/postgres/job-inserts.ts): what a
 * single insert guarantees must hold for each job of a group. (Duplicates within a group and of
 * stored jobs are in the store contract, test/store/contract/jobs.ts; four AddJobs calls of
 * 1,000 jobs through the API in test/api/bulk-add.test.ts.)
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { withDeadline } from "../../server/src/lib/deadline.js";
import { withIdempotentCall, type IdempotentCall } from "../../server/src/lib/idempotent-call.js";
import { StoreTimeoutError } from "../../server/src/store/errors.js";
import { IdempotencyKeyTaken } from "../../server/src/store/port-idempotency.js";
import { PostgresStore } from "../../server/src/store/postgres/store.js";
import { job } from "./contract/fixtures.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";

const DAY_MS = 86_400_000;

function keyedCall(key: string): IdempotentCall {
  return {
    principal: "anonymous",
    key,
    method: "metronome.v1.JobService/AddJobs",
    requestHash: "0".repeat(64),
    callId: randomUUID(),
    startedAt: Date.now(),
    deadlineAt: Date.now() + 60_000,
    expiresAt: Date.now() + DAY_MS,
    settled: false,
  };
}

describePostgres("PostgreSQL: job inserts committed in groups", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let store: PostgresStore;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    store = PostgresStore.open(db.url);
    await store.migrate();
  });

  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it("a row the table refuses fails its own insert only", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `refused-${String(i)}`);
    const answers = await Promise.allSettled(
      ids.map((id, i) =>
        // varchar(191): a longer name is refused by the table.
        store.insertJob(job(id, i === 7 ? { name: "n".repeat(300) } : {})),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(
      ids.map((_, i) => (i === 7 ? "rejected" : "fulfilled")),
    );
    expect(await store.getJob("default", "refused-7")).toBeNull();
    expect(await store.getJob("default", "refused-8")).not.toBeNull();
  });

  it("a keyed call's inserts claim its key; another call's with the key write nothing", async () => {
    const key = randomUUID();
    const first = keyedCall(key);
    const other = keyedCall(key);
    const [mine, theirs, unkeyed] = await Promise.allSettled([
      withIdempotentCall(first, () =>
        Promise.all([store.insertJob(job("keyed-1")), store.insertJob(job("keyed-2"))]),
      ),
      withIdempotentCall(other, () => store.insertJob(job("keyed-3"))),
      store.insertJob(job("unkeyed-1")),
    ]);
    expect(mine).toEqual({ status: "fulfilled", value: [true, true] });
    expect(theirs.status === "rejected" && theirs.reason).toBeInstanceOf(IdempotencyKeyTaken);
    expect(unkeyed).toEqual({ status: "fulfilled", value: true });
    expect(await store.getJob("default", "keyed-3")).toBeNull();
    const record = await store.idempotency.getIdempotencyRecord("anonymous", key, Date.now());
    expect(record?.callId).toBe(first.callId);
  });

  it("an insert whose deadline passed before it was sent is not written", async () => {
    await expect(
      withDeadline(Date.now() - 1, () => store.insertJob(job("too-late"))),
    ).rejects.toBeInstanceOf(StoreTimeoutError);
    expect(await store.insertJob(job("in-time"))).toBe(true);
    expect(await store.getJob("default", "too-late")).toBeNull();
  });
});
