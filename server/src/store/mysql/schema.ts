/**
 * MySQL schema (MySQL 8.0+, MariaDB 10.6+). Instants are UTC epoch milliseconds in BIGINT columns
 * (no DATETIME time-zone surprises); JSON is stored as text. Migrations in `migrations/mysql` are
 * generated from this file by drizzle-kit.
 */
import {
  bigint,
  boolean,
  index,
  int,
  mediumtext,
  mysqlTable,
  primaryKey,
  text,
  uniqueIndex,
  varchar,
} from "drizzle-orm/mysql-core";

const ms = (name: string) => bigint(name, { mode: "number" });

export const schedulers = mysqlTable("schedulers", {
  name: varchar("name", { length: 191 }).primaryKey(),
  timezone: varchar("timezone", { length: 64 }).notNull(),
  coalesce: boolean("coalesce").notNull(),
  maxInstances: int("max_instances").notNull(),
  misfireGraceMs: ms("misfire_grace_ms"),
  paused: boolean("paused").notNull(),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
  version: ms("version").notNull(),
});

export const jobs = mysqlTable(
  "jobs",
  {
    scheduler: varchar("scheduler", { length: 191 }).notNull(),
    id: varchar("id", { length: 191 }).notNull(),
    name: varchar("name", { length: 255 }).notNull(),
    handler: varchar("handler", { length: 191 }).notNull(),
    trigger: text("trigger").notNull(),
    args: mediumtext("args").notNull(),
    kwargs: mediumtext("kwargs").notNull(),
    coalesce: boolean("coalesce").notNull(),
    maxInstances: int("max_instances").notNull(),
    misfireGraceMs: ms("misfire_grace_ms"),
    timeoutMs: ms("timeout_ms"),
    retry: text("retry"),
    paused: boolean("paused").notNull(),
    nextRunTime: ms("next_run_time"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    version: ms("version").notNull(),
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
    scheduler: varchar("scheduler", { length: 191 }).notNull(),
    jobId: varchar("job_id", { length: 191 }).notNull(),
    /** The nominal fire time (manual runs: the request time). */
    scheduledTime: ms("scheduled_time").notNull(),
    manual: boolean("manual").notNull(),
    /** The nominal time plus jitter: when the run becomes due. */
    fireTime: ms("fire_time").notNull(),
    handler: varchar("handler", { length: 191 }).notNull(),
    args: mediumtext("args").notNull(),
    kwargs: mediumtext("kwargs").notNull(),
    attempt: int("attempt").notNull(),
    status: varchar("status", { length: 16 }).notNull(),
    workerId: varchar("worker_id", { length: 191 }),
    leaseToken: varchar("lease_token", { length: 64 }),
    leaseExpiresAt: ms("lease_expires_at"),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
    result: mediumtext("result"),
    error: mediumtext("error"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    // Exactly once: one run per job and nominal fire time, enforced by the database.
    uniqueIndex("runs_job_scheduled_time").on(t.scheduler, t.jobId, t.scheduledTime, t.manual),
    index("runs_status_fire_time").on(t.status, t.fireTime),
    index("runs_lease_expires_at").on(t.leaseExpiresAt),
    index("runs_created_at").on(t.createdAt),
  ],
);

export const events = mysqlTable(
  "events",
  {
    /** Monotonic cursor. */
    cursor: bigint("cursor", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    type: varchar("type", { length: 32 }).notNull(),
    scheduler: varchar("scheduler", { length: 191 }),
    jobId: varchar("job_id", { length: 191 }),
    runId: varchar("run_id", { length: 36 }),
    handler: varchar("handler", { length: 191 }),
    time: ms("time").notNull(),
    data: mediumtext("data").notNull(),
  },
  (t) => [index("events_time").on(t.time)],
);
