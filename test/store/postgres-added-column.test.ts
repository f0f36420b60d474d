/**
 * A rolling upgrade on PostgreSQL: a later migration adds a column while nodes of the earlier
 * version still run with statements prepared on their connections (the runner prepares each
 * statement once per connection). A statement that selects `*` changes its result type with the
 * column, and PostgreSQL refuses to run it again ("cached plan must not change result type"):
 * the idempotency keys' reads name their columns. The pools have one connection each here, so
 * the second read runs on the connection that prepared the first.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { IdempotentCall } from "../../server/src/lib/idempotent-call.js";
import { PostgresStore } from "../../server/src/store/postgres/store.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";

const NOW = Date.parse("2030-01-01T00:00:00Z");

describePostgres("PostgreSQL: a column added under running nodes", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let store: PostgresStore;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    store = PostgresStore.open(db.url, { connectionLimit: 1 });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it("the idempotency keys' reads go on after a column is added to their table", async () => {
    const idem = store.idempotency;
    const call: IdempotentCall = {
      principal: "env:1",
      key: "k-1",
      method: "metronome.v1.JobService/AddJob",
      requestHash: "ab".repeat(32),
      callId: "call-1",
      deadlineAt: NOW + 10_000,
      startedAt: NOW,
      expiresAt: NOW + 86_400_000,
      settled: false,
    };
    expect(await idem.recordAnswer(call, { ok: false, code: 5, message: "nope" }, NOW)).toBeNull();
    expect(await idem.getIdempotencyRecord("env:1", "k-1", NOW)).toMatchObject({
      callId: "call-1",
    });
    // Another call with the key: its answer is not recorded, the holder's record comes back.
    const other = { ...call, callId: "call-2" };
    expect(await idem.recordAnswer(other, { ok: false, code: 5, message: "x" }, NOW)).toMatchObject(
      { callId: "call-1" },
    );

    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query('ALTER TABLE "idempotency_keys" ADD COLUMN "added_later" integer');
    } finally {
      await admin.end();
    }

    expect(await idem.getIdempotencyRecord("env:1", "k-1", NOW)).toMatchObject({
      callId: "call-1",
    });
    expect(await idem.recordAnswer(other, { ok: false, code: 5, message: "x" }, NOW)).toMatchObject(
      { callId: "call-1" },
    );
  });
});
