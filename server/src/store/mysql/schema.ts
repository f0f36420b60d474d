/**
 * MySQL schema (MySQL 8.0+, MariaDB 10.6+). Instants are UTC epoch milliseconds in BIGINT columns
 * (no DATETIME time-zone surprises); JSON is stored as text. Migrations in `migrations/mysql` are
 * generated from this file by drizzle-kit.
 */
import {
  bigint,
  customType,
  boolean,
  index,
  int,
  mysqlTable,
  primaryKey,
  uniqueIndex,
  varchar,
} from "drizzle-orm/mysql-core";

const ms = (name: string) => bigint(name, { mode: "number" });

/** Identifiers are case-sensitive ASCII (`Daily` and `daily` are two jobs): a binary collation. */
const ident = customType<{ data: string; driverData: string }>({
  dataType: () => "varchar(191) CHARACTER SET ascii COLLATE ascii_bin",
});

/** Names and JSON documents are Unicode whatever the database's default character set. */
const utf8 = (type: string) =>
  customType<{ data: string; driverData: string }>({
    dataType: () => `${type} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
  });
const displayName = utf8("varchar(191)");
const json = utf8("mediumtext");

export const schedulers = mysqlTable("schedulers", {
  name: ident("name").primaryKey(),
  timezone: varchar("timezone", { length: 64 }).notNull(),
  coalesce: boolean("coalesce").notNull(),
  maxInstances: int("max_instances").notNull(),
  misfireGraceMs: ms("misfire_grace_ms"),
  paused: boolean("paused").notNull(),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
  version: ms("version").notNull(),
  /** Who made the last change through the API (a key id, env:<n>, anonymous). */
  modifiedBy: ident("modified_by"),
});

export const jobs = mysqlTable(
  "jobs",
  {
    scheduler: ident("scheduler").notNull(),
    id: ident("id").notNull(),
    name: displayName("name").notNull(),
    handler: ident("handler").notNull(),
    trigger: json("trigger").notNull(),
    args: json("args").notNull(),
    kwargs: json("kwargs").notNull(),
    coalesce: boolean("coalesce").notNull(),
    maxInstances: int("max_instances").notNull(),
    misfireGraceMs: ms("misfire_grace_ms"),
    timeoutMs: ms("timeout_ms"),
    retry: json("retry"),
    paused: boolean("paused").notNull(),
    /** The claim's position: past the runs prepared ahead (domain/jobs.ts). */
    nextRunTime: ms("next_run_time"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    version: ms("version").notNull(),
    /** Who made the last change through the API (a key id, env:<n>, anonymous). */
    modifiedBy: ident("modified_by"),
    /** The first fire time prepared ahead not come at the last claim: what reads show. */
    preparedFirst: ms("prepared_first"),
    /** The trigger ended with its last run prepared ahead: removed once it is due. */
    lastFirePrepared: boolean("last_fire_prepared").notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.scheduler, t.id] }),
    // Due-job lookup: WHERE next_run_time <= ? ORDER BY next_run_time (paused jobs have NULL).
    index("jobs_next_run_time").on(t.nextRunTime),
    index("jobs_scheduler_next_run_time").on(t.scheduler, t.nextRunTime),
    index("jobs_handler").on(t.handler),
  ],
);

export const runs = mysqlTable(
  "runs",
  {
    id: varchar("id", { length: 36 }).primaryKey(),
    scheduler: ident("scheduler").notNull(),
    jobId: ident("job_id").notNull(),
    jobName: displayName("job_name").notNull().default(""),
    /** The nominal fire time (manual runs: the request time). */
    scheduledTime: ms("scheduled_time").notNull(),
    manual: boolean("manual").notNull(),
    /** The nominal time plus jitter: when the run becomes due. */
    fireTime: ms("fire_time").notNull(),
    handler: ident("handler").notNull(),
    args: json("args").notNull(),
    kwargs: json("kwargs").notNull(),
    /** The job's settings when the run was created: the run follows them to its end. */
    timeoutMs: ms("timeout_ms"),
    retry: json("retry"),
    maxInstances: int("max_instances").notNull().default(1),
    attempt: int("attempt").notNull(),
    status: varchar("status", { length: 16 }).notNull(),
    statusReason: utf8("varchar(1024)")("status_reason").notNull().default(""),
    /** While pending: the earliest time the run may be handed to a worker. */
    dueAt: ms("due_at"),
    /** While pending: when the run becomes missed (fire time + misfire grace; null: never). */
    expiresAt: ms("expires_at"),
    workerId: ident("worker_id"),
    leaseToken: varchar("lease_token", { length: 64 }),
    leaseExpiresAt: ms("lease_expires_at"),
    /** While running: when the job's timeout ends the attempt. */
    deadlineAt: ms("deadline_at"),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
    result: json("result"),
    error: json("error"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    /** A manual run: who asked for it. */
    triggeredBy: ident("triggered_by"),
  },
  (t) => [
    // Exactly once: one run per job and nominal fire time, enforced by the database.
    uniqueIndex("runs_job_scheduled_time").on(t.scheduler, t.jobId, t.scheduledTime, t.manual),
    // Dispatch: pending runs of a handler by due time.
    index("runs_dispatch").on(t.status, t.handler, t.dueAt),
    // max_instances: a job's pending and running runs.
    index("runs_job_status").on(t.scheduler, t.jobId, t.status),
    // Sweeps (misfire of pending runs, expired leases and timeouts of running ones) scan the
    // pending or running rows through runs_dispatch: few, unlike the history.
    // History: a scheduler's runs newest first (and retention by fire time).
    index("runs_scheduler_scheduled_time").on(t.scheduler, t.scheduledTime),
  ],
);

/**
 * The event log (docs/events.md): one row per batch of events written by one statement of a
 * transaction (up to 1,000 events), so that a transaction recording hundreds of events writes
 * and sequences one row. A batch is inserted with `cursor` NULL; once it is committed, the
 * sequencer gives it a cursor in one short transaction under the `event_log_state` row lock, so
 * cursors become visible in increasing order. Event `i` of a batch has cursor
 * `cursor * 1024 + i`. Subscribers read only batches with a cursor.
 */
export const eventLog = mysqlTable(
  "event_log",
  {
    /** Insertion order; assigned at insert, so committed out of order. */
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    /** Position in the log, assigned after commit; NULL until then. */
    cursor: bigint("cursor", { mode: "number", unsigned: true }),
    /** How many events the batch holds. */
    count: int("count").notNull(),
    /** The newest event's time (retention). */
    time: ms("time").notNull(),
    /** The events, JSON (store/sql/events/batch-text.ts). */
    events: json("events").notNull(),
  },
  (t) => [uniqueIndex("event_log_cursor").on(t.cursor)],
);

/**
 * The log's two counters: `last`, the highest batch cursor given; `pruned`, the cursor of the
 * last event deleted by retention.
 */
export const eventLogState = mysqlTable("event_log_state", {
  name: varchar("name", { length: 16 }).primaryKey(),
  value: bigint("value", { mode: "number", unsigned: true }).notNull(),
});

/**
 * The handlers of the worker sessions connected to every node, one row per session and handler,
 * so that any node can tell whether a job's handler is served (Job.worker_count, job_at_risk).
 * A node writes its sessions' rows when they connect, deletes them when they drain or end, and
 * pushes `expires_at` forward every third of the lease duration while they live; the rows of a
 * node that crashed expire.
 */
export const workerHandlers = mysqlTable(
  "worker_handlers",
  {
    sessionId: varchar("session_id", { length: 36 }).notNull(),
    handler: ident("handler").notNull(),
    workerId: ident("worker_id").notNull(),
    nodeId: utf8("varchar(191)")("node_id").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.handler] }),
    // Who serves these handlers: WHERE handler IN (…) AND expires_at > ?.
    index("worker_handlers_handler").on(t.handler, t.expiresAt),
  ],
);

/**
 * The nodes of the cluster, one row each, written by the node itself every third of the node
 * lease (METRONOME_NODE_LEASE) with its worker sessions as a JSON document, and deleted when it
 * stops; the row of a node that crashed expires (ListNodes, ListWorkers).
 */
export const clusterNodes = mysqlTable(
  "cluster_nodes",
  {
    nodeId: utf8("varchar(191)")("node_id").primaryKey(),
    version: varchar("version", { length: 64 }).notNull(),
    address: utf8("varchar(300)")("address").notNull(),
    role: varchar("role", { length: 16 }).notNull(),
    state: varchar("state", { length: 16 }).notNull(),
    startedAt: ms("started_at").notNull(),
    lastSeen: ms("last_seen").notNull(),
    expiresAt: ms("expires_at").notNull(),
    activity: json("activity").notNull(),
    workers: utf8("longtext")("workers").notNull(),
  },
  (t) => [index("cluster_nodes_expires_at").on(t.expiresAt)],
);

/** Scoped API keys (docs/security.md): a hash of each secret, never the secret. */
export const apiKeys = mysqlTable("api_keys", {
  id: ident("id").primaryKey(),
  name: displayName("name").notNull(),
  /** A JSON array of scope strings. */
  scopes: json("scopes").notNull(),
  hash: varchar("hash", { length: 128 }).notNull(),
  salt: varchar("salt", { length: 64 }).notNull(),
  createdAt: ms("created_at").notNull(),
  createdBy: ident("created_by").notNull(),
  expiresAt: ms("expires_at"),
  revokedAt: ms("revoked_at"),
  revokedBy: ident("revoked_by"),
});

/**
 * Idempotency keys of mutating calls (docs/security.md): one record per principal and key,
 * written with the call's change, its answer added after.
 */
export const idempotencyKeys = mysqlTable(
  "idempotency_keys",
  {
    principal: ident("principal").notNull(),
    key: ident("idem_key").notNull(),
    method: ident("method").notNull(),
    requestHash: varchar("request_hash", { length: 64 }).notNull(),
    callId: varchar("call_id", { length: 64 }).notNull(),
    deadlineAt: ms("deadline_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    /** Null until the answer is recorded; 0: a response (in `answer`, base64), else a gRPC code. */
    answerCode: int("answer_code"),
    answer: utf8("longtext")("answer"),
  },
  (t) => [
    primaryKey({ columns: [t.principal, t.key] }),
    index("idempotency_keys_expires_at").on(t.expiresAt),
  ],
);
