/**
 * AddJobs in bulk with several calls at once, as an import (or the scale benchmark) sends them:
 * four calls of 1,000 jobs each. Every job is created once with its one event, an id that exists
 * answers ALREADY_EXISTS (also when two of the calls race for it), and a keyed call applies
 * once. On PostgreSQL these calls answered UNAVAILABLE: each job was a transaction of its own,
 * and the 4,000 of them queued on the API's six connections past the calls' deadline. Its jobs
 * are now committed in groups (store/postgres/job-inserts.ts), which the rows' transaction ids
 * show. On MariaDB and PostgreSQL, each with a server of its own.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventsOfText } from "../../server/src/store/sql/events/batch-text.js";
import { grpcJsClients, type GrpcJsClients, type Reply } from "../support/grpc-js.js";
import { describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { describePostgres } from "../support/postgres.js";
import {
  mysqlDatabase,
  postgresDatabase,
  type SharedTestDatabase,
} from "../support/shared-stores.js";

const CALLS = 4;
const PER_CALL = 1000;
const CREATED = "ADD_JOB_OUTCOME_CREATED";
const EXISTS = "ADD_JOB_OUTCOME_ALREADY_EXISTS";

/** A job that never fires during the test (a date far ahead). */
const farJob = (id: string) => ({
  id,
  handler: "bulk.test",
  trigger: { date: { run_date: { seconds: "4102444800" } } },
});

const range = (prefix: string, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${String(from + i)}`);

function suite(
  createDatabase: (prefix?: string) => Promise<SharedTestDatabase>,
  onPostgres: boolean,
): void {
  let db: SharedTestDatabase | undefined;
  let node: TestNode | undefined;
  let client: GrpcJsClients | undefined;

  const rows = <T>(sql: string): Promise<T[]> => {
    if (!db) throw new Error("no database");
    return db.rows<T>(sql);
  };
  const c = (): GrpcJsClients => {
    if (!client) throw new Error("no client");
    return client;
  };
  const outcomes = (reply: Reply): string[] =>
    (reply.results as Reply[]).map((r) => String(r.outcome));

  beforeAll(async () => {
    db = await createDatabase("metronome_bulk");
    node = await startTestNode(db.url);
    client = grpcJsClients(node.port);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await node?.stop();
    await db?.drop();
  }, 30_000);

  /** The ids of the four calls (see the test), and what each should answer. */
  const plan = (run: string) => {
    const existing = range(`${run}-old`, 0, 10);
    const raced = range(`${run}-race`, 0, 10);
    const calls = [
      [...existing, ...range(`${run}-c0`, 10, PER_CALL)],
      [...raced, ...range(`${run}-c1`, 10, PER_CALL)],
      [...raced, ...range(`${run}-c2`, 10, PER_CALL)],
      range(`${run}-c3`, 0, PER_CALL),
    ];
    return { existing, raced, calls };
  };

  it("four AddJobs calls of 1,000 jobs at once: each job created once, with its one event", async () => {
    const run = `b${randomUUID().slice(0, 8)}`;
    const { existing, raced, calls } = plan(run);
    await c().job("AddJobs", { jobs: existing.map(farJob) });
    // The last call is keyed (idempotency-key): its jobs' transactions claim the key.
    const key = { "idempotency-key": randomUUID() };
    const answers = await Promise.all(
      calls.map((ids, i) =>
        c().job("AddJobs", { jobs: ids.map(farJob) }, i === CALLS - 1 ? key : {}),
      ),
    );
    const [first, second, third, fourth] = answers.map(outcomes);
    expect(first).toEqual([
      ...existing.map(() => EXISTS),
      ...range("", 10, PER_CALL).map(() => CREATED),
    ]);
    expect(fourth).toEqual(calls[3]?.map(() => CREATED));
    // The ten raced ids: each created by exactly one of the two calls.
    for (let i = 0; i < raced.length; i++)
      expect([second?.[i], third?.[i]].sort()).toEqual([CREATED, EXISTS].sort());
    expect(second?.slice(10).every((o) => o === CREATED)).toBe(true);
    expect(third?.slice(10).every((o) => o === CREATED)).toBe(true);

    const stored = await rows<{ n: unknown }>(
      `SELECT COUNT(*) AS \`n\` FROM \`jobs\` WHERE \`id\` LIKE '${run}-%'`,
    );
    const all = new Set(calls.flat());
    expect(Number(stored[0]?.n)).toBe(all.size);
    // One job_added event per job, committed or not yet sequenced.
    const batches = await rows<{ events: string }>("SELECT `events` FROM `event_log`");
    const added = new Map<string, number>();
    for (const b of batches)
      for (const e of eventsOfText(b.events))
        if (e.type === "job_added" && e.jobId?.startsWith(`${run}-`))
          added.set(e.jobId, (added.get(e.jobId) ?? 0) + 1);
    expect(added.size).toBe(all.size);
    expect([...added.values()].every((n) => n === 1)).toBe(true);

    // The keyed call again: its first answer, and nothing added.
    expect(await c().job("AddJobs", { jobs: calls[3]?.map(farJob) }, key)).toEqual(answers[3]);
    const after = await rows<{ n: unknown }>(
      `SELECT COUNT(*) AS \`n\` FROM \`jobs\` WHERE \`id\` LIKE '${run}-%'`,
    );
    expect(Number(after[0]?.n)).toBe(all.size);
  }, 120_000);

  // The rows' transaction ids (xmin) are PostgreSQL's: this part runs there only.
  if (!onPostgres) return;
  it("commits concurrent inserts in groups (PostgreSQL: the rows' transaction ids)", async () => {
    const run = `g${randomUUID().slice(0, 8)}`;
    const { calls } = plan(run);
    // A new scheduler: its creation too is shared by the 4,000 jobs (management/schedulers.ts).
    await Promise.all(
      calls.map((ids) =>
        c().job("AddJobs", {
          jobs: ids.slice(10).map((id) => ({ ...farJob(id), scheduler: run })),
        }),
      ),
    );
    const [tx] = await rows<{ n: unknown; jobs: unknown }>(
      `SELECT COUNT(DISTINCT xmin::text) AS \`n\`, COUNT(*) AS \`jobs\` FROM \`jobs\` WHERE \`id\` LIKE '${run}-%'`,
    );
    expect(Number(tx?.jobs)).toBe(CALLS * (PER_CALL - 10));
    // One transaction per job before; groups of up to 500 now.
    expect(Number(tx?.n)).toBeLessThanOrEqual(Number(tx?.jobs) / 20);
  }, 120_000);
}

describe("AddJobs in bulk, several calls at once", () => {
  describeMysql("on MariaDB", () => {
    suite(mysqlDatabase, false);
  });
  describePostgres("on PostgreSQL", () => {
    suite(postgresDatabase, true);
  });
});
