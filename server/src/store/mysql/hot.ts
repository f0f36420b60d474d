/**
 * The API's two hottest statements, GetJob's point read and AddJob's insert, in plain SQL on
 * mysql2's callback API, batched (see Batcher). Drizzle builds and maps rows through several
 * layers per call and mysql2's promise wrapper captures a stack trace per query; on these two
 * statements that was a third of the server's time per RPC beyond the RPC layer itself. The
 * column list is checked against the Drizzle schema (`schema.ts`) at start-up, so the two
 * cannot drift apart silently.
 *
 * Every job in an answer carries its worker count (Job.worker_count), which needs the other
 * nodes' sessions serving its handler from the store: the read takes them in the same statement
 * (a subquery per row) and the insert in its own transaction (a SELECT before the COMMIT), each
 * after the call's request arrived, instead of a second statement per batch of calls.
 */
import { getTableColumns } from "drizzle-orm";
import { timeLeft } from "../../lib/deadline.js";
import { StoreTimeoutError } from "../errors.js";
import { bounded } from "../bounded.js";
import type { Pool, PoolConnection } from "mysql2";
import type { EventDraft } from "../../domain/events.js";
import { isDeadlock, isDuplicate } from "../errors.js";
import { insertEventsStatement } from "../sql/events/append-events.js";
import { sequencedAtCommit, sequencingOps } from "../sql/events/sequence-at-commit.js";
import type { SequencedRows } from "../sql/runner.js";
import { JOB_COLUMNS, jobRowCells, type JobRow } from "../sql/job-rows.js";
import { servingSessionsStatement } from "../sql/workers/serving-sessions.js";
import { jobs } from "./schema.js";

/** Throws if JOB_COLUMNS (rows.ts) and the Drizzle table disagree (a column added to one only). */
export function checkJobColumns(): void {
  const schema = Object.entries(getTableColumns(jobs))
    .map(([key, col]) => `${key}=${col.name}`)
    .sort();
  const here = JOB_COLUMNS.map(([key, name]) => `${key}=${name}`).sort();
  if (schema.join(",") !== here.join(","))
    throw new Error(
      `jobs columns drifted: schema ${schema.join(",")} vs hot path ${here.join(",")}`,
    );
}

const COLUMN_LIST = JOB_COLUMNS.map(([, name]) => `\`${name}\``).join(", ");
const ROW_PLACEHOLDERS = `(${JOB_COLUMNS.map(() => "?").join(", ")})`;

type Cell = string | number | null;

function rowFromCells(c: Cell[]): JobRow {
  return {
    scheduler: c[0] as string,
    id: c[1] as string,
    name: c[2] as string,
    handler: c[3] as string,
    trigger: c[4] as string,
    args: c[5] as string,
    kwargs: c[6] as string,
    coalesce: c[7] === 1,
    maxInstances: c[8] as number,
    misfireGraceMs: c[9] as number | null,
    timeoutMs: c[10] as number | null,
    retry: c[11] as string | null,
    paused: c[12] === 1,
    nextRunTime: c[13] as number | null,
    createdAt: c[14] as number,
    updatedAt: c[15] as number,
    version: c[16] as number,
    modifiedBy: c[17] as string | null,
    preparedFirst: c[18] as number | null,
    lastFirePrepared: c[19] === 1,
  };
}

function exec(pool: Pool, sqlText: string, params: Cell[]): Promise<unknown> {
  // A read: past the deadline its answer is not waited for.
  return bounded(
    new Promise((resolve, reject) => {
      pool.execute({ sql: sqlText, rowsAsArray: true }, params, (err, rows) => {
        if (err) reject(err);
        else resolve(rows);
      });
    }),
    () => undefined,
  );
}

/**
 * Batch sizes. Each statement shape is prepared once per connection, and the server caps
 * prepared statements globally (`max_prepared_stmt_count`, 16,382 by default) across every
 * node's connections: reads are padded to a power of two (8 shapes), inserts capped at 32 rows.
 * (An OR of `(scheduler = ? AND id = ?)` pairs was an order of magnitude slower on MariaDB than
 * `scheduler = ? AND id IN (…)`.)
 */
export const MAX_READ_BATCH = 128;
export const MAX_INSERT_BATCH = 32;

/**
 * With a job's row, in the same statement: how many unexpired sessions of nodes other than
 * `exceptNode` serve its handler at `now` (sql/workers/serving-sessions.ts counts them the same way).
 */
export interface ServedBy {
  readonly now: number;
  readonly exceptNode: string;
}

const REMOTE_WORKERS =
  "(SELECT COUNT(*) FROM `worker_handlers` AS `w` WHERE `w`.`handler` = `jobs`.`handler` AND `w`.`expires_at` > ? AND `w`.`node_id` <> ?)";

/** A job's row, and with `served`, the other nodes' sessions serving its handler. */
export interface ReadJob {
  readonly row: JobRow;
  readonly remoteWorkers: number;
}

/**
 * The rows of these (scheduler, id) keys, one per key in order (null where there is none); with
 * `served`, each with the other nodes' sessions serving its handler (0 without).
 */
export async function selectJobs(
  pool: Pool,
  keys: readonly { scheduler: string; id: string }[],
  served?: ServedBy,
): Promise<(ReadJob | null)[]> {
  // One statement per scheduler, `scheduler = ? AND id IN (…)` (the primary key), the id list
  // padded to a power of two by repeating its last id.
  const bySched = new Map<string, string[]>();
  for (const k of keys) {
    let ids = bySched.get(k.scheduler);
    if (ids === undefined) bySched.set(k.scheduler, (ids = []));
    ids.push(k.id);
  }
  const rows: Cell[][] = [];
  for (const [scheduler, ids] of bySched) {
    let size = 1;
    while (size < ids.length) size *= 2;
    const padded = [...ids, ...Array<string>(size - ids.length).fill(ids[ids.length - 1] ?? "")];
    const keyParams = [scheduler, ...padded];
    rows.push(
      ...((await exec(
        pool,
        `SELECT ${COLUMN_LIST}${served === undefined ? "" : `, ${REMOTE_WORKERS}`} FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${padded.map(() => "?").join(", ")})`,
        served === undefined ? keyParams : [served.now, served.exceptNode, ...keyParams],
      )) as Cell[][]),
    );
  }
  const found = new Map<string, ReadJob>();
  for (const cells of rows) {
    const row = rowFromCells(cells);
    const remoteWorkers = Number(cells[JOB_COLUMNS.length] ?? 0);
    found.set(`${row.scheduler}\u0000${row.id}`, { row, remoteWorkers });
  }
  return keys.map((k) => found.get(`${k.scheduler}\u0000${k.id}`) ?? null);
}

export interface JobInsert {
  readonly row: JobRow;
  readonly events: readonly EventDraft[];
  /** Count the other nodes' sessions serving the job's handler in the same transaction. */
  readonly served?: ServedBy | undefined;
}

/** Per handler, the other nodes' sessions serving it (handlers none serves are absent). */
export type RemoteWorkers = ReadonlyMap<string, number>;

/**
 * The count of the batch's served items (the node of the first; in practice there is one): its
 * statement, the latest `now` of them, and which items it answers.
 */
function servedCount(
  batch: readonly JobInsert[],
): { sql: string; params: Cell[]; answers: boolean[] } | null {
  const first = batch.find((b) => b.served !== undefined)?.served;
  if (first === undefined) return null;
  const answers = batch.map((b) => b.served?.exceptNode === first.exceptNode);
  const handlers = [...new Set(batch.filter((_, i) => answers[i]).map((b) => b.row.handler))];
  const now = Math.max(...batch.map((b) => b.served?.now ?? Number.NEGATIVE_INFINITY));
  return { ...servingSessionsStatement(handlers, now, first.exceptNode), answers };
}

function connection(pool: Pool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => {
    pool.getConnection((err, conn) => {
      if (err) reject(err);
      else resolve(conn);
    });
  });
}

function query(conn: PoolConnection, sqlText: string, params: Cell[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    conn.query(sqlText, params, (err, results) => {
      if (err) reject(err);
      else resolve(results);
    });
  });
}

/** Told of each committed insert's events, and of their cursors (sequence-at-commit.ts). */
export type InsertCommitted = (
  events: readonly EventDraft[],
  sequenced: SequencedRows | undefined,
) => void;

/**
 * Inserts jobs with their events in one transaction, sent as one multi-statement query (one
 * round trip), with the count of the items that ask for it (JobInsert.served: read in the
 * transaction, after the inserts; undefined for the others). With `atCommit` the events' rows
 * get their cursors in the same round trip, after the rest (sql/events/sequence-at-commit.ts);
 * `committed` is told once it committed. `pool` must allow multiple statements. On error the transaction is rolled
 * back.
 */
async function insertWithEvents(
  pool: Pool,
  batch: readonly JobInsert[],
  atCommit: boolean,
  committed: InsertCommitted,
): Promise<(RemoteWorkers | undefined)[]> {
  const drafts = batch.flatMap((b) => b.events);
  const events = insertEventsStatement(drafts);
  // With cursors (sequence-at-commit.ts), or without for the sequencer.
  const sequencing =
    events === null
      ? []
      : atCommit
        ? sequencingOps(events.rows)
        : [{ sql: events.sql, params: events.params }];
  const count = servedCount(batch);
  const parts = [
    "START TRANSACTION",
    `INSERT INTO \`jobs\` (${COLUMN_LIST}) VALUES ${batch.map(() => ROW_PLACEHOLDERS).join(", ")}`,
    ...(count === null ? [] : [count.sql]),
    ...sequencing.map((o) => o.sql),
    "COMMIT",
  ];
  const params = [
    ...batch.flatMap((b) => jobRowCells(b.row)),
    ...(count?.params ?? []),
    ...sequencing.flatMap((o) => o.params),
  ];
  if (timeLeft() <= 0) throw new StoreTimeoutError();
  const state = { late: false };
  const conn = await bounded(
    connection(pool).then((c) => {
      // Arrived after the deadline: nobody waits for it any more.
      if (state.late) c.release();
      return c;
    }),
    () => {
      state.late = true;
    },
  );
  let results: unknown[];
  try {
    // Past the deadline the connection is destroyed: a transaction the server has not
    // committed yet is rolled back with it.
    results = (await bounded(query(conn, parts.join("; "), params), () => {
      state.late = true;
      conn.destroy();
    })) as unknown[];
    conn.release();
  } catch (err) {
    if (state.late) throw err;
    // A failed statement ends the query; the transaction it opened is still open.
    await query(conn, "ROLLBACK", []).then(
      () => {
        conn.release();
      },
      () => {
        conn.destroy();
      },
    );
    throw err;
  }
  committed(
    drafts,
    events === null || !atCommit ? undefined : sequencedAtCommit(events.rows, results),
  );
  // The count's answer: the statement after the INSERT.
  if (count === null) return batch.map(() => undefined);
  const rows = results[2] as { handler: string; n: number | string }[];
  const remote = new Map(rows.map((r) => [r.handler, Number(r.n)]));
  return count.answers.map((answered) => (answered ? remote : undefined));
}

/** Attempts at a transaction that deadlocks (as the runner's: mysql/runner.ts). */
const DEADLOCK_RETRIES = 5;

/**
 * insertWithEvents, again after a deadlock: InnoDB rolled the transaction back, nothing of it was
 * written. Two nodes inserting the same keys in different orders deadlock (each waits for the
 * other's key to be committed or rolled back before it can tell a duplicate): the victim's jobs
 * were answered INTERNAL before (test/store/mysql-insert-deadlock.test.ts).
 */
async function insertRetried(
  pool: Pool,
  batch: readonly JobInsert[],
  atCommit: boolean,
  committed: InsertCommitted,
): Promise<(RemoteWorkers | undefined)[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertWithEvents(pool, batch, atCommit, committed);
    } catch (err) {
      if (!isDeadlock(err) || attempt >= DEADLOCK_RETRIES) throw err;
    }
  }
}

/** Whether a job was inserted, and the count it asked for (JobInsert.served). */
export interface Inserted {
  readonly inserted: boolean;
  readonly remote: RemoteWorkers | undefined;
}

/**
 * Inserts these jobs with their events, answering per job whether it was inserted (false: a
 * job with that key exists, and its events were not written). One multi-row INSERT is atomic:
 * if any row is a duplicate nothing was written, and the jobs are then inserted one by one to
 * tell which.
 */
export async function insertJobs(
  pool: Pool,
  items: readonly JobInsert[],
  atCommit: boolean,
  committed: InsertCommitted,
): Promise<Inserted[]> {
  if (items.length > 1) {
    try {
      const remote = await insertRetried(pool, items, atCommit, committed);
      return remote.map((r) => ({ inserted: true, remote: r }));
    } catch (err) {
      if (!isDuplicate(err)) throw err;
    }
  }
  const inserted: Inserted[] = [];
  for (const item of items) {
    try {
      const [remote] = await insertRetried(pool, [item], atCommit, committed);
      inserted.push({ inserted: true, remote });
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      inserted.push({ inserted: false, remote: undefined });
    }
  }
  return inserted;
}
