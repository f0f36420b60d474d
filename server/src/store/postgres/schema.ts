/**
 * PostgreSQL schema (PostgreSQL 12+), the MySQL schema's twin: instants are UTC epoch milliseconds
 * in BIGINT columns, JSON is stored as text, and flags are SMALLINT 0/1, so that the SQL shared
 * by every SQL store (`sql/`, which writes `paused = 0`) runs unchanged. Every text column sorts
 * and compares byte by byte (`COLLATE "C"`), as MySQL's `_bin` collations do: identifiers are
 * case-sensitive and keyset pages follow one order whatever the database's locale. Migrations in
 * `migrations/postgres` are generated from this file by drizzle-kit.
 */
import {
  bigint,
  bigserial,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  smallint,
  uniqueIndex,
  varchar,
} from "drizzle-orm/pg-core";

const ms = (name: string) => bigint(name, { mode: "number" });

/** A text column compared byte by byte. */
const binary = (type: string) =>
  customType<{ data: string; driverData: string }>({
    dataType: () => `${type} COLLATE "C"`,
  });
const ident = binary("varchar(191)");
const displayName = binary("varchar(191)");
const json = binary("text");
/** A flag: 0 or 1. */
const flag = (name: string) => smallint(name);

export const schedulers = pgTable("schedulers", {
  name: ident("name").primaryKey(),
  timezone: varchar("timezone", { length: 64 }).notNull(),
  coalesce: flag("coalesce").notNull(),
  maxInstances: integer("max_instances").notNull(),
  misfireGraceMs: ms("misfire_grace_ms"),
  paused: flag("paused").notNull(),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
  version: ms("version").notNull(),
  /** Who made the last change through the API (a key id, env:<n>, anonymous). */
  modifiedBy: ident("modified_by"),
});

export const jobs = pgTable(
  "jobs",
  {
    scheduler: ident("scheduler").notNull(),
    id: ident("id").notNull(),
    name: displayName("name").notNull(),
    handler: ident("handler").notNull(),
    trigger: json("trigger").notNull(),
    args: json("args").notNull(),
    kwargs: json("kwargs").notNull(),
    coalesce: flag("coalesce").notNull(),
    maxInstances: integer("max_instances").notNull(),
    misfireGraceMs: ms("misfire_grace_ms"),
    timeoutMs: ms("timeout_ms"),
    retry: json("retry"),
    paused: flag("paused").notNull(),
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
    lastFirePrepared: flag("last_fire_prepared").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.scheduler, t.id] }),
    // Due-job lookup: WHERE next_run_time <= ? ORDER BY next_run_time (paused jobs have NULL).
    index("jobs_next_run_time").on(t.nextRunTime),
    index("jobs_scheduler_next_run_time").on(t.scheduler, t.nextRunTime),
    index("jobs_handler").on(t.handler),
  ],
);

export const runs = pgTable(
  "runs",
  {
    id: varchar("id", { length: 36 }).primaryKey(),
    scheduler: ident("scheduler").notNull(),
    jobId: ident("job_id").notNull(),
    jobName: displayName("job_name").notNull().default(""),
    /** The nominal fire time (manual runs: the request time). */
    scheduledTime: ms("scheduled_time").notNull(),
    manual: flag("manual").notNull(),
    /** The nominal time plus jitter: when the run becomes due. */
    fireTime: ms("fire_time").notNull(),
    handler: ident("handler").notNull(),
    args: json("args").notNull(),
    kwargs: json("kwargs").notNull(),
    /** The job's settings when the run was created: the run follows them to its end. */
    timeoutMs: ms("timeout_ms"),
    retry: json("retry"),
    maxInstances: integer("max_instances").notNull().default(1),
    attempt: integer("attempt").notNull(),
    status: varchar("status", { length: 16 }).notNull(),
    statusReason: binary("varchar(1024)")("status_reason").notNull().default(""),
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
    // History: a scheduler's runs newest first (and retention by fire time).
    index("runs_scheduler_scheduled_time").on(t.scheduler, t.scheduledTime),
  ],
);

/** The event log (see mysql/schema.ts and docs/events.md): one row per batch of events. */
export const eventLog = pgTable(
  "event_log",
  {
    /** Insertion order; assigned at insert, so committed out of order. */
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Position in the log, assigned after commit; NULL until then. */
    cursor: bigint("cursor", { mode: "number" }),
    /** How many events the batch holds. */
    count: integer("count").notNull(),
    /** The newest event's time (retention). */
    time: ms("time").notNull(),
    /** The events, JSON (store/sql/events/batch-text.ts). */
    events: json("events").notNull(),
  },
  (t) => [uniqueIndex("event_log_cursor").on(t.cursor)],
);

/** The log's two counters: `last` (highest batch cursor given), `pruned` (see mysql/schema.ts). */
export const eventLogState = pgTable("event_log_state", {
  name: varchar("name", { length: 16 }).primaryKey(),
  value: bigint("value", { mode: "number" }).notNull(),
});

/** The handlers of every node's worker sessions, one row per session and handler. */
export const workerHandlers = pgTable(
  "worker_handlers",
  {
    sessionId: varchar("session_id", { length: 36 }).notNull(),
    handler: ident("handler").notNull(),
    workerId: ident("worker_id").notNull(),
    nodeId: binary("varchar(191)")("node_id").notNull(),
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
export const clusterNodes = pgTable(
  "cluster_nodes",
  {
    nodeId: ident("node_id").primaryKey(),
    version: varchar("version", { length: 64 }).notNull(),
    address: binary("varchar(300)")("address").notNull(),
    role: varchar("role", { length: 16 }).notNull(),
    state: varchar("state", { length: 16 }).notNull(),
    startedAt: ms("started_at").notNull(),
    lastSeen: ms("last_seen").notNull(),
    expiresAt: ms("expires_at").notNull(),
    activity: json("activity").notNull(),
    workers: json("workers").notNull(),
  },
  (t) => [index("cluster_nodes_expires_at").on(t.expiresAt)],
);

/** Scoped API keys (docs/security.md): a hash of each secret, never the secret. */
export const apiKeys = pgTable("api_keys", {
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
export const idempotencyKeys = pgTable(
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
    answerCode: integer("answer_code"),
    answer: json("answer"),
  },
  (t) => [
    primaryKey({ columns: [t.principal, t.key] }),
    index("idempotency_keys_expires_at").on(t.expiresAt),
  ],
);
