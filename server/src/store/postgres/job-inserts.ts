/**
 * AddJob's and AddJobs' inserts on PostgreSQL, committed in groups. Each job used to be one
 * transaction of four round trips and a WAL flush, and AddJobs starts all of its jobs at once:
 * four AddJobs calls of 1,000 jobs queued 4,000 transactions on the API's six connections, the
 * last of which waited past the call's deadline (UNAVAILABLE), and the health check's ping
 * waited behind them. Here the inserts that arrive while a group is at the database go out
 * together, as one transaction: one multi-row INSERT (the rows as one JSON parameter, so that
 * one prepared statement serves any number of them) with `ON CONFLICT DO NOTHING RETURNING`,
 * which tells each job whether it was inserted, then the events of the jobs inserted, then
 * COMMIT. Under light load a job goes out at the end of the event-loop turn it arrived in.
 *
 * Every guarantee of a single insert holds:
 * - each caller gets its own answer: true, or false (nothing of it written) when the key exists,
 *   committed before or by a concurrent transaction (PostgreSQL makes the insert wait for it);
 * - a job's events commit with it, and only the inserted jobs' events are written;
 * - a keyed call's jobs (lib/idempotent-call.ts) go in groups of their own, whose transaction
 *   claims the key before it writes (sql/idempotency/claim-key.ts), as sql/keyed-runner.ts does
 *   for every other change;
 * - a group runs in this module's own async context (not in that of the call whose job started
 *   the chain of groups, see lib/batcher.ts) under the earliest deadline of its callers
 *   (lib/deadline.ts; past it the transaction is rolled back, and no COMMIT is sent), and a job
 *   whose deadline passed while it waited is not sent at all;
 * - a group that fails for a reason other than the database (a row the table refuses) is tried
 *   again job by job, so that only the job at fault fails.
 *
 * Rows are inserted in key order, so that two groups inserting the same keys wait on each other
 * in one order and cannot deadlock.
 */
import { AsyncResource } from "node:async_hooks";
import { getTableColumns } from "drizzle-orm";
import type { EventDraft } from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import { currentDeadline, withDeadline } from "../../lib/deadline.js";
import { currentIdempotentCall, type IdempotentCall } from "../../lib/idempotent-call.js";
import { StoreTimeoutError, StoreUnavailableError } from "../errors.js";
import { IdempotencyKeyTaken } from "../port-idempotency.js";
import type { Dialect } from "../sql/dialect.js";
import { appendEvents } from "../sql/events/append-events.js";
import { claimKey } from "../sql/idempotency/claim-key.js";
import { JOB_COLUMNS, jobKey, jobRowCells, jobToRow } from "../sql/job-rows.js";
import { all, strOrNull, type Param, type SqlRunner, type Tx } from "../sql/runner.js";
import { jobs } from "./schema.js";

/** The most jobs in one group (one statement): 1,000 jobs' rows are ~0.5 MB of JSON. */
export const MAX_GROUP = 500;
/** Groups at the database at once: the API's other statements keep the pool's other connections. */
const MAX_IN_FLIGHT = 2;

/**
 * Each column's type in the JSON rows' record: the schema's, but text for every varchar, so
 * that an over-long value is refused by the table as in a single insert (a cast to varchar(n)
 * would cut it).
 */
function recordTypes(): string {
  const types = new Map(
    Object.values(getTableColumns(jobs)).map((c) => [
      c.name,
      c
        .getSQLType()
        .replace(/ COLLATE .*$/, "")
        .replace(/^varchar\(\d+\)$/, "text"),
    ]),
  );
  return JOB_COLUMNS.map(([, name]) => {
    const type = types.get(name);
    if (type === undefined) throw new Error(`jobs column ${name} is not in the schema`);
    return `\`${name}\` ${type}`;
  }).join(", ");
}

const COLUMNS = JOB_COLUMNS.map(([, name]) => `\`${name}\``).join(", ");

const INSERT_ROWS = `INSERT INTO \`jobs\` (${COLUMNS}) SELECT ${COLUMNS} FROM json_to_recordset(?::json) AS r(${recordTypes()}) ON CONFLICT DO NOTHING RETURNING \`scheduler\`, \`id\``;

/** A job's row as a JSON object keyed by column name. */
function rowObject(job: Job): Record<string, Param> {
  const cells = jobRowCells(jobToRow(job));
  return Object.fromEntries(JOB_COLUMNS.map(([, name], i) => [name, cells[i] ?? null]));
}

interface Insert {
  readonly job: Job;
  readonly events: readonly EventDraft[];
  /** The keyed call the insert belongs to, if any. */
  readonly call: IdempotentCall | undefined;
  /** Its caller's deadline (epoch milliseconds; Infinity without one). */
  readonly deadline: number;
  resolve(inserted: boolean): void;
  reject(err: unknown): void;
}

/** One group's transaction: answers, per insert, whether its job was inserted. */
function* insertGroup(
  dialect: Dialect,
  call: IdempotentCall | undefined,
  group: readonly Insert[],
): Tx<boolean[]> {
  // As sql/keyed-runner.ts: a call that has answered writes no record any more.
  if (call !== undefined && !call.settled) yield* claimKey(dialect, call, call.startedAt);
  // One row per key, in key order; a later insert of the same key in the group is a duplicate.
  const first = new Map<string, Insert>();
  for (const it of group) {
    const key = jobKey(it.job.scheduler, it.job.id);
    if (!first.has(key)) first.set(key, it);
  }
  const keys = [...first.keys()].sort();
  const rows = keys.map((k) => rowObject((first.get(k) as Insert).job));
  const returned = yield* all(INSERT_ROWS, [JSON.stringify(rows)]);
  const inserted = new Set(
    returned.map((r) => jobKey(strOrNull(r.scheduler) ?? "", strOrNull(r.id) ?? "")),
  );
  const answers = group.map((it) => {
    const key = jobKey(it.job.scheduler, it.job.id);
    return first.get(key) === it && inserted.has(key);
  });
  yield* appendEvents(group.flatMap((it, i) => (answers[i] === true ? it.events : [])));
  return answers;
}

export class JobInserts {
  private queue: Insert[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly home = new AsyncResource("JobInserts");

  /** `runner`: the API's, unkeyed (this module claims keys itself). */
  constructor(
    private readonly runner: SqlRunner,
    private readonly dialect: Dialect,
  ) {}

  /** Inserts `job` with its events: false (nothing written) when (scheduler, id) exists. */
  insert(job: Job, events: readonly EventDraft[]): Promise<boolean> {
    const call = currentIdempotentCall();
    const deadline = currentDeadline() ?? Number.POSITIVE_INFINITY;
    return new Promise((resolve, reject) => {
      this.queue.push({ job, events, call, deadline, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.home.runInAsyncScope(() =>
          setImmediate(() => {
            this.scheduled = false;
            this.pump();
          }),
        );
      }
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const group = this.take();
      if (group.length === 0) continue;
      this.inFlight++;
      void this.send(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /**
   * The next group: the inserts of the first one's call (or of no call), in arrival order, up to
   * MAX_GROUP; those whose deadline passed are refused instead.
   */
  private take(): Insert[] {
    const head = this.queue[0];
    const group: Insert[] = [];
    const rest: Insert[] = [];
    const now = Date.now();
    for (const it of this.queue) {
      if (it.deadline <= now) it.reject(new StoreTimeoutError());
      else if (it.call === head?.call && group.length < MAX_GROUP) group.push(it);
      else rest.push(it);
    }
    this.queue = rest;
    return group;
  }

  /** Runs one group and answers its callers; never rejects. */
  private async send(group: readonly Insert[], alone = false): Promise<void> {
    const call = group[0]?.call;
    const deadline = Math.min(...group.map((it) => it.deadline));
    try {
      const tx = () => this.runner.tx(() => insertGroup(this.dialect, call, group));
      const answers = await (deadline === Number.POSITIVE_INFINITY
        ? tx()
        : withDeadline(deadline, tx));
      group.forEach((it, i) => {
        it.resolve(answers[i] === true);
      });
    } catch (err) {
      // A row the table refused fails only its own job: each is tried alone.
      if (
        !alone &&
        group.length > 1 &&
        !(err instanceof StoreUnavailableError) &&
        !(err instanceof IdempotencyKeyTaken)
      ) {
        for (const it of group) await this.send([it], true);
        return;
      }
      for (const it of group) it.reject(err);
    }
  }
}
