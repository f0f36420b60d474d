/**
 * SQLite schema of the embedded store: the same tables and keys as the MySQL schema.
 * Migrations in `migrations/sqlite` are generated from this file by drizzle-kit.
 */
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

const ms = (name: string) => integer(name, { mode: "number" });
const bool = (name: string) => integer(name, { mode: "boolean" });

export const schedulers = sqliteTable("schedulers", {
  name: text("name").primaryKey(),
  timezone: text("timezone").notNull(),
  coalesce: bool("coalesce").notNull(),
  maxInstances: integer("max_instances").notNull(),
  misfireGraceMs: ms("misfire_grace_ms"),
  paused: bool("paused").notNull(),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
  version: ms("version").notNull(),
  /** Who made the last change through the API (a key id, env:<n>, anonymous). */
  modifiedBy: text("modified_by"),
});

export const jobs = sqliteTable(
  "jobs",
  {
    scheduler: text("scheduler").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    handler: text("handler").notNull(),
    trigger: text("trigger").notNull(),
    args: text("args").notNull(),
    kwargs: text("kwargs").notNull(),
    coalesce: bool("coalesce").notNull(),
    maxInstances: integer("max_instances").notNull(),
    misfireGraceMs: ms("misfire_grace_ms"),
    timeoutMs: ms("timeout_ms"),
    retry: text("retry"),
    paused: bool("paused").notNull(),
    /** The claim's position: past the runs prepared ahead (domain/jobs.ts). */
    nextRunTime: ms("next_run_time"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    version: ms("version").notNull(),
    /** Who made the last change through the API (a key id, env:<n>, anonymous). */
    modifiedBy: text("modified_by"),
    /** The first fire time prepared ahead not come at the last claim: what reads show. */
    preparedFirst: ms("prepared_first"),
    /** The trigger ended with its last run prepared ahead: removed once it is due. */
    lastFirePrepared: bool("last_fire_prepared").notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.scheduler, t.id] }),
    index("jobs_next_run_time").on(t.nextRunTime),
    index("jobs_scheduler_next_run_time").on(t.scheduler, t.nextRunTime),
    index("jobs_handler").on(t.handler),
  ],
);

export const runs = sqliteTable(
  "runs",
  {
    id: text("id").primaryKey(),
    scheduler: text("scheduler").notNull(),
    jobId: text("job_id").notNull(),
    jobName: text("job_name").notNull().default(""),
    scheduledTime: ms("scheduled_time").notNull(),
    manual: bool("manual").notNull(),
    fireTime: ms("fire_time").notNull(),
    handler: text("handler").notNull(),
    args: text("args").notNull(),
    kwargs: text("kwargs").notNull(),
    timeoutMs: ms("timeout_ms"),
    retry: text("retry"),
    maxInstances: integer("max_instances").notNull().default(1),
    attempt: integer("attempt").notNull(),
    status: text("status").notNull(),
    statusReason: text("status_reason").notNull().default(""),
    dueAt: ms("due_at"),
    expiresAt: ms("expires_at"),
    workerId: text("worker_id"),
    leaseToken: text("lease_token"),
    leaseExpiresAt: ms("lease_expires_at"),
    deadlineAt: ms("deadline_at"),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
    result: text("result"),
    error: text("error"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    /** A manual run: who asked for it. */
    triggeredBy: text("triggered_by"),
  },
  (t) => [
    uniqueIndex("runs_job_scheduled_time").on(t.scheduler, t.jobId, t.scheduledTime, t.manual),
    index("runs_dispatch").on(t.status, t.handler, t.dueAt),
    index("runs_job_status").on(t.scheduler, t.jobId, t.status),
    index("runs_scheduler_scheduled_time").on(t.scheduler, t.scheduledTime),
  ],
);

/** The event log: see the MySQL schema. */
export const eventLog = sqliteTable(
  "event_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    cursor: integer("cursor"),
    count: integer("count").notNull(),
    time: ms("time").notNull(),
    events: text("events").notNull(),
  },
  (t) => [uniqueIndex("event_log_cursor").on(t.cursor)],
);

export const eventLogState = sqliteTable("event_log_state", {
  name: text("name").primaryKey(),
  value: integer("value").notNull(),
});

/** The handlers of connected worker sessions: see the MySQL schema. */
export const workerHandlers = sqliteTable(
  "worker_handlers",
  {
    sessionId: text("session_id").notNull(),
    handler: text("handler").notNull(),
    workerId: text("worker_id").notNull(),
    nodeId: text("node_id").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.handler] }),
    index("worker_handlers_handler").on(t.handler, t.expiresAt),
  ],
);

/** The nodes of the cluster and their worker sessions: see the MySQL schema. */
export const clusterNodes = sqliteTable(
  "cluster_nodes",
  {
    nodeId: text("node_id").primaryKey(),
    version: text("version").notNull(),
    address: text("address").notNull(),
    role: text("role").notNull(),
    state: text("state").notNull(),
    startedAt: ms("started_at").notNull(),
    lastSeen: ms("last_seen").notNull(),
    expiresAt: ms("expires_at").notNull(),
    activity: text("activity").notNull(),
    workers: text("workers").notNull(),
  },
  (t) => [index("cluster_nodes_expires_at").on(t.expiresAt)],
);

/** Scoped API keys (docs/security.md): a hash of each secret, never the secret. */
export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** A JSON array of scope strings. */
  scopes: text("scopes").notNull(),
  hash: text("hash").notNull(),
  salt: text("salt").notNull(),
  createdAt: ms("created_at").notNull(),
  createdBy: text("created_by").notNull(),
  expiresAt: ms("expires_at"),
  revokedAt: ms("revoked_at"),
  revokedBy: text("revoked_by"),
});

/**
 * Idempotency keys of mutating calls (docs/security.md): one record per principal and key,
 * written with the call's change, its answer added after.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    principal: text("principal").notNull(),
    key: text("idem_key").notNull(),
    method: text("method").notNull(),
    requestHash: text("request_hash").notNull(),
    callId: text("call_id").notNull(),
    deadlineAt: ms("deadline_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    /** Null until the answer is recorded; 0: a response (in `answer`, base64), else a gRPC code. */
    answerCode: integer("answer_code"),
    answer: text("answer"),
  },
  (t) => [
    primaryKey({ columns: [t.principal, t.key] }),
    index("idempotency_keys_expires_at").on(t.expiresAt),
  ],
);
