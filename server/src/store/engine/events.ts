/**
 * The event log's statements (tables `event_log` and `event_log_state`, see the schemas).
 *
 * Why cursors are assigned after commit: an auto-increment id is taken when a row is inserted,
 * but transactions commit in any order, so a reader that saw id 11 committed could later see id
 * 10 appear and, resuming after 11, skip it. Here every change inserts its events with cursor
 * NULL; the sequencer (`sequenceEvents`) then reads committed events without a cursor and gives
 * them the next cursors, holding the `last` row of `event_log_state` until it commits. Sequencer
 * transactions are therefore serial, each commits before the next takes the lock, and a reader
 * always sees the cursors as a prefix: 1..n committed, nothing above n. An event that commits
 * late simply gets a later cursor.
 */
import type {
  EventData,
  EventDraft,
  EventFilter,
  EventType,
  LoggedEvent,
} from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import { all, exec, placeholders, type Dialect, type Param, type Row, type Tx } from "./ops.js";

const INSERT_COLUMNS = "`type`, `scheduler`, `job_id`, `run_id`, `handler`, `time`, `data`";
const ROW = "(?, ?, ?, ?, ?, ?, ?)";
const SELECT_COLUMNS = "`cursor`, " + INSERT_COLUMNS;

/** The parameters of one event row (INSERT_COLUMNS order). */
export function eventCells(e: EventDraft): Param[] {
  return [e.type, e.scheduler, e.jobId, e.runId, e.handler, e.time, JSON.stringify(e.data)];
}

/** An event as a row of the Drizzle `eventLog` table (both dialects name its fields alike). */
export function eventRow(e: EventDraft): {
  type: string;
  scheduler: string | null;
  jobId: string | null;
  runId: string | null;
  handler: string | null;
  time: number;
  data: string;
} {
  return {
    type: e.type,
    scheduler: e.scheduler,
    jobId: e.jobId,
    runId: e.runId,
    handler: e.handler,
    time: e.time,
    data: JSON.stringify(e.data),
  };
}

/** `INSERT INTO event_log … VALUES` for `n` rows (the API's hot path builds its own statement). */
export function insertEventsSql(n: number): string {
  return `INSERT INTO \`event_log\` (${INSERT_COLUMNS}) VALUES ${Array.from({ length: n }, () => ROW).join(", ")}`;
}

/** Writes events in the current transaction; they get cursors once it commits. */
export function* insertEvents(events: readonly EventDraft[]): Tx<void> {
  for (let i = 0; i < events.length; i += 200) {
    const part = events.slice(i, i + 200);
    yield {
      kind: "run",
      sql: insertEventsSql(part.length),
      params: part.flatMap(eventCells),
      events: true,
    };
  }
}

/**
 * The locked read-modify-write of a job (updateJobLocked) that also writes the events `events`
 * makes of the new job, when `change` changed it.
 */
export function* updateJobWithEvents(
  body: (change: (current: Job) => Job) => Tx<Job | null>,
  change: (current: Job) => Job,
  events: ((after: Job) => readonly EventDraft[]) | undefined,
): Tx<Job | null> {
  const seen = { changed: false };
  const job = yield* body((current) => {
    const next = change(current);
    seen.changed = next !== current;
    return next;
  });
  if (seen.changed && job !== null && events !== undefined) yield* insertEvents(events(job));
  return job;
}

/** Runs a transaction body and writes the events it produced in the same transaction. */
export function* withEvents<T>(body: Tx<T>, events: (value: T) => readonly EventDraft[]): Tx<T> {
  const value = yield* body;
  yield* insertEvents(events(value));
  return value;
}

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));

/**
 * Gives cursors to up to `limit` committed events that have none, in id order, after the highest
 * cursor given so far. Answers how many it gave. Serial across nodes (the `last` row lock).
 */
export function* sequenceEvents(d: Dialect, limit: number): Tx<number> {
  const state = yield* all(
    `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'last'${d.lock}`,
  );
  const last = num(state[0]?.value ?? 0);
  const pending = yield* all(
    "SELECT `id` FROM `event_log` WHERE `cursor` IS NULL ORDER BY `id` LIMIT ?",
    [limit],
  );
  if (pending.length === 0) return 0;
  const ids = pending.map((r) => num(r.id));
  // cursor = id + shift keeps the id order and uniqueness, and starts above `last`.
  const first = ids[0] ?? 0;
  const shift = Math.max(0, last + 1 - first);
  yield* exec(
    `UPDATE \`event_log\` SET \`cursor\` = \`id\` + ? WHERE \`cursor\` IS NULL AND \`id\` IN (${placeholders(ids.length)})`,
    [shift, ...ids],
  );
  yield* exec("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'last'", [
    (ids[ids.length - 1] ?? 0) + shift,
  ]);
  return ids.length;
}

/** Whether some committed event waits for its cursor (a cheap look before `sequenceEvents`). */
export function* hasUnsequenced(): Tx<boolean> {
  const rows = yield* all("SELECT `id` FROM `event_log` WHERE `cursor` IS NULL LIMIT 1");
  return rows.length > 0;
}

export interface LogState {
  /** The highest cursor given (0: none yet). */
  readonly last: number;
  /** Every event with a cursor up to this one was deleted by retention (0: none). */
  readonly pruned: number;
}

export function* logState(): Tx<LogState> {
  const rows = yield* all("SELECT `name`, `value` FROM `event_log_state`");
  const get = (name: string) => num(rows.find((r) => r.name === name)?.value ?? 0);
  return { last: get("last"), pruned: get("pruned") };
}

function eventFromRow(r: Row): LoggedEvent {
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    cursor: num(r.cursor),
    type: String(r.type) as EventType,
    scheduler: str(r.scheduler),
    jobId: str(r.job_id),
    runId: str(r.run_id),
    handler: str(r.handler),
    time: num(r.time),
    data: JSON.parse(String(r.data)) as EventData,
  };
}

/**
 * Events with a cursor in (after, upTo], in cursor order, at most `limit`, narrowed by `filter`
 * where SQL can (the caller still applies the whole filter: worker events match on the handlers
 * their worker registered, which is inside `data`).
 */
export function* readEvents(
  after: number,
  upTo: number,
  limit: number,
  filter?: EventFilter,
): Tx<LoggedEvent[]> {
  const where = ["`cursor` > ?", "`cursor` <= ?"];
  const params: Param[] = [after, upTo];
  const inList = (column: string, values: readonly string[], orWorker = false) => {
    if (values.length === 0) return;
    const test = `\`${column}\` IN (${placeholders(values.length)})`;
    where.push(
      orWorker ? `(${test} OR \`type\` IN ('worker_connected', 'worker_disconnected'))` : test,
    );
    params.push(...values);
  };
  if (filter !== undefined) {
    inList("type", filter.types);
    inList("scheduler", filter.schedulers);
    inList("job_id", filter.jobIds);
    inList("handler", filter.handlers, true);
  }
  const rows = yield* all(
    `SELECT ${SELECT_COLUMNS} FROM \`event_log\` WHERE ${where.join(" AND ")} ORDER BY \`cursor\` LIMIT ?`,
    [...params, limit],
  );
  return rows.map(eventFromRow);
}

/**
 * Retention: deletes the oldest events, in cursor order, while their time is before `before`
 * (at most `limit`), and records the highest cursor deleted. Deleting a prefix of the log keeps
 * the rule simple: a cursor below `pruned` may have lost events after it (OUT_OF_RANGE), any
 * other has not. Answers how many were deleted.
 */
export function* pruneEvents(d: Dialect, before: number, limit: number): Tx<number> {
  const oldest = yield* all(
    "SELECT `cursor`, `time` FROM `event_log` WHERE `cursor` IS NOT NULL ORDER BY `cursor` LIMIT ?",
    [limit],
  );
  let upTo = 0;
  for (const r of oldest) {
    if (num(r.time) >= before) break;
    upTo = num(r.cursor);
  }
  if (upTo === 0) return 0;
  const state = yield* all(
    `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'pruned'${d.lock}`,
  );
  const deleted = yield* exec(
    "DELETE FROM `event_log` WHERE `cursor` IS NOT NULL AND `cursor` <= ?",
    [upTo],
  );
  if (upTo > num(state[0]?.value ?? 0))
    yield* exec("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'pruned'", [upTo]);
  return deleted;
}
