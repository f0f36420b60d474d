/**
 * The PostgreSQL store (PostgreSQL 12+): the SQL store (sql/) on node-postgres pools, Drizzle's
 * migrator for the schema under an advisory lock, `FOR UPDATE SKIP LOCKED` claims and leases as
 * on MySQL, and LISTEN/NOTIFY between nodes (changes.ts). A lost or refused connection surfaces
 * as `StoreUnavailableError`; the pools reconnect by themselves when the database is back.
 */
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { migrationsFolder } from "../../paths.js";
import { storeError } from "../errors.js";
import type { StoreChange } from "../port.js";
import { POSTGRES } from "../sql/dialect.js";
import { SqlStore } from "../sql/store.js";
import type { EventDraft } from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import { ChangeNotices } from "./changes.js";
import { JobInserts } from "./job-inserts.js";
import { PostgresRunner } from "./runner.js";

/** The advisory lock key that serialises migrations of nodes starting at once. */
const MIGRATE_LOCK = "metronome_migrate";

async function guard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storeError(err);
  }
}

export interface PostgresPools {
  /** Management's statements. */
  readonly api: pg.Pool;
  /** The engine's and dispatch's. */
  readonly engine: pg.Pool;
  /** The event log's, and the notices sent. */
  readonly events: pg.Pool;
}

/**
 * Opening a connection gives up after 5 s (a database that does not answer is unavailable).
 * Statements are prepared, and PostgreSQL plans a prepared statement once for any values (a
 * generic plan) after five runs; with generic plans the throughput benchmark stalled once the
 * runs table held ~150,000 pending runs (docs/benchmarks.md). Each run is planned for its values
 * instead.
 */
const CONNECTION = {
  connectionTimeoutMillis: 5000,
  keepAlive: true,
  options: "-c plan_cache_mode=force_custom_plan",
} as const;

/**
 * A pool's connections time out while connecting, but a request waiting for a free connection
 * waits as long as it takes (as in mysql2's pools): the pool's own `connectionTimeoutMillis`
 * would bound both, and fail requests that merely queue behind a burst.
 */
class PooledClient extends pg.Client {
  // pg-pool constructs its clients with the pool's options.
  constructor(config: pg.ClientConfig = {}) {
    super({ ...config, ...CONNECTION });
  }
}

function pool(url: string, max: number): pg.Pool {
  const p = new pg.Pool({
    connectionString: url,
    max,
    Client: PooledClient,
    keepAlive: true,
    // Idle connections close: several nodes and test files share the server's connections.
    idleTimeoutMillis: 10_000,
  });
  // An idle connection the database dropped: the pool discards it (the next query reports an
  // unreachable database); without a listener the error would end the process.
  p.on("error", () => undefined);
  return p;
}

/**
 * Three pools, so that the API's statements do not queue behind the engine's, nor the event
 * log's behind either, and a connection of its own for LISTEN: a node holds at most 15 of the
 * server's connections (100 by default), fewer when idle.
 */
export class PostgresStore extends SqlStore {
  private readonly notices: ChangeNotices;
  /** AddJob's and AddJobs' inserts, committed in groups (job-inserts.ts). */
  private readonly jobInserts: JobInserts;

  private constructor(
    private readonly url: string,
    private readonly pools: PostgresPools,
    api = new PostgresRunner(pools.api),
  ) {
    super(POSTGRES, {
      api,
      engine: new PostgresRunner(pools.engine),
      events: new PostgresRunner(pools.events),
    });
    this.jobInserts = new JobInserts(api, POSTGRES);
    this.notices = new ChangeNotices(
      pools.events,
      () => new pg.Client({ connectionString: url, ...CONNECTION }),
    );
  }

  /** Pools connect on first use: a store opened while the database is down works once it is back. */
  static open(url: string, options: { connectionLimit?: number } = {}): PostgresStore {
    return new PostgresStore(url, {
      api: pool(url, options.connectionLimit ?? 6),
      engine: pool(url, 6),
      events: pool(url, 2),
    });
  }

  override async insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    const inserted = await this.jobInserts.insert(job, events);
    if (inserted && job.nextRunTime !== null) this.announce("jobs");
    return inserted;
  }

  protected override announce(change: StoreChange): void {
    this.notices.announce(change);
  }

  override onChange(listener: (change: StoreChange) => void): void {
    this.notices.onChange(listener);
  }

  /** Resolves once onChange's listener listens (tests wait for it before announcing). */
  listening(): Promise<void> {
    return this.notices.listening();
  }

  async migrate(): Promise<void> {
    await guard(async () => {
      // Drizzle's migrator takes no lock: nodes starting at once wait for each other here. The
      // lock is a session's, held by a connection of its own while the pool migrates.
      const lock = new pg.Client({ connectionString: this.url, ...CONNECTION });
      lock.on("error", () => undefined);
      await lock.connect();
      try {
        await lock.query("SELECT pg_advisory_lock(hashtext($1))", [MIGRATE_LOCK]);
        try {
          await migrate(drizzle({ client: this.pools.api }), {
            migrationsFolder: migrationsFolder("postgres"),
            // Beside the tables (not Drizzle's own schema): pendingMigrations reads it unqualified.
            migrationsSchema: "public",
          });
        } finally {
          await lock.query("SELECT pg_advisory_unlock(hashtext($1))", [MIGRATE_LOCK]);
        }
      } finally {
        await lock.end().catch(() => undefined);
      }
    });
  }

  async ping(): Promise<void> {
    await guard(() => this.pools.api.query("SELECT 1"));
  }

  async close(): Promise<void> {
    await this.notices.close();
    await Promise.all([this.pools.api.end(), this.pools.engine.end(), this.pools.events.end()]);
  }
}
