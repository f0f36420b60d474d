/**
 * The PostgreSQL store (PostgreSQL 12+): the SQL store (sql/) on node-postgres pools, Drizzle's
 * migration files applied under an advisory lock in the connection's current schema
 * (migrate.ts), `FOR UPDATE SKIP LOCKED` claims and leases as on MySQL, and LISTEN/NOTIFY
 * between nodes (changes.ts). A lost or refused connection surfaces
 * as `StoreUnavailableError`; the pools reconnect by themselves when the database is back.
 */
import pg from "pg";
import { storeError } from "../errors.js";
import type { StoreChange } from "../port.js";
import { POSTGRES } from "../sql/dialect.js";
import { isMissingTable, lastMigration, migrationsAfter } from "../sql/pending-migrations.js";
import { all } from "../sql/runner.js";
import { SqlStore } from "../sql/store.js";
import type { EventDraft } from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import { ChangeNotices } from "./changes.js";
import { JobInserts } from "./job-inserts.js";
import { applyMigrations, NO_SCHEMA } from "./migrate.js";
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
 * How long a session of the node may sit idle inside a transaction before PostgreSQL ends it
 * (`idle_in_transaction_session_timeout`), rolling the transaction back and freeing its row
 * locks: a node cut off mid-transaction (a network partition, a frozen process) would otherwise
 * hold the jobs it claimed, and no node could fire them, until the server's TCP keepalive gave
 * up on it (two hours by default). The node's own statements follow each other without waiting,
 * so only a lost client reaches it. A store URL's `options` may set another value.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;

/** TCP keepalive probes start after a connection was silent this long (the OS's default: 2 h). */
const KEEPALIVE_DELAY_MS = 10_000;

export interface PostgresSessionSettings {
  /** `idle_in_transaction_session_timeout`, in milliseconds (0: none). */
  readonly idleInTransactionTimeoutMs?: number;
}

/**
 * The connection settings of a store URL. Opening a connection gives up after 5 s (a database
 * that does not answer is unavailable), and TCP keepalive finds a silent peer. Statements are
 * prepared, and PostgreSQL plans a prepared statement once for any values (a generic plan) after
 * five runs; with generic plans the throughput benchmark stalled once the runs table held
 * ~150,000 pending runs (docs/benchmarks.md). Each run is planned for its values instead.
 *
 * node-postgres takes a URL's `options` over the client's own: the URL's are taken out of it and
 * appended to the node's settings (a later `-c` wins), so that both apply.
 */
export function connectionConfig(
  url: string,
  settings: PostgresSessionSettings = {},
): pg.ClientConfig & { connectionString: string; options: string } {
  const idle = settings.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS;
  const ours = [
    "-c plan_cache_mode=force_custom_plan",
    `-c idle_in_transaction_session_timeout=${String(Math.max(0, Math.round(idle)))}`,
  ];
  const { connectionString, options } = withoutOptions(url);
  return {
    connectionString,
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    options: [...ours, ...options].join(" "),
  };
}

/** `url` without its `options` query parameters, and their values (decoded, in order). */
function withoutOptions(url: string): { connectionString: string; options: string[] } {
  const q = url.indexOf("?");
  if (q < 0) return { connectionString: url, options: [] };
  const kept: string[] = [];
  const options: string[] = [];
  for (const part of url.slice(q + 1).split("&")) {
    const [entry] = new URLSearchParams(part);
    if (entry?.[0] === "options") {
      if (entry[1].trim() !== "") options.push(entry[1]);
    } else if (part !== "") kept.push(part);
  }
  const base = url.slice(0, q);
  return { connectionString: kept.length === 0 ? base : `${base}?${kept.join("&")}`, options };
}

/**
 * A pool's connections time out while connecting, but a request waiting for a free connection
 * waits as long as it takes (as in mysql2's pools): the pool's own `connectionTimeoutMillis`
 * would bound both, and fail requests that merely queue behind a burst.
 */
function pooledClient(connection: pg.ClientConfig): typeof pg.Client {
  return class PooledClient extends pg.Client {
    // pg-pool constructs its clients with the pool's options.
    constructor(config: pg.ClientConfig = {}) {
      super({ ...config, ...connection });
    }
  };
}

function pool(connection: pg.ClientConfig, max: number): pg.Pool {
  const p = new pg.Pool({
    max,
    Client: pooledClient(connection),
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
  /** The schema of the tables and of their migration record (current_schema()), once read. */
  private schema: Promise<string> | undefined;
  /** AddJob's and AddJobs' inserts, committed in groups (job-inserts.ts). */
  private readonly jobInserts: JobInserts;

  private constructor(
    private readonly connection: pg.ClientConfig,
    private readonly pools: PostgresPools,
    api = new PostgresRunner(pools.api),
    private readonly engineRunner = new PostgresRunner(pools.engine),
  ) {
    super(POSTGRES, {
      api,
      engine: engineRunner,
      events: new PostgresRunner(pools.events),
    });
    this.jobInserts = new JobInserts(api, POSTGRES);
    this.notices = new ChangeNotices(pools.events, () => new pg.Client(connection));
  }

  /**
   * Pools connect on first use: a store opened while the database is down works once it is back.
   * `idleInTransactionTimeoutMs`: see IDLE_IN_TRANSACTION_TIMEOUT_MS.
   */
  static open(
    url: string,
    options: { connectionLimit?: number } & PostgresSessionSettings = {},
  ): PostgresStore {
    const connection = connectionConfig(url, options);
    return new PostgresStore(connection, {
      api: pool(connection, options.connectionLimit ?? 6),
      engine: pool(connection, 6),
      events: pool(connection, 2),
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
      // Nodes starting at once wait for each other here. The lock is a session's, held by the
      // connection that migrates.
      const lock = new pg.Client(this.connection);
      lock.on("error", () => undefined);
      await lock.connect();
      try {
        await lock.query("SELECT pg_advisory_lock(hashtext($1))", [MIGRATE_LOCK]);
        try {
          await applyMigrations(lock);
        } finally {
          await lock.query("SELECT pg_advisory_unlock(hashtext($1))", [MIGRATE_LOCK]);
        }
      } finally {
        await lock.end().catch(() => undefined);
      }
    });
  }

  /** The migrations of this build not applied, by the record beside the tables (migrate.ts). */
  override async pendingMigrations(): Promise<number> {
    let last = Number.NEGATIVE_INFINITY;
    try {
      const schema = await this.currentSchema();
      last = await this.engineRunner.autocommit(() => lastMigration(schema));
    } catch (err) {
      if (!isMissingTable(err)) throw storeError(err);
    }
    return migrationsAfter("postgres", last);
  }

  /** current_schema(), read once (every connection of the store has the same settings). */
  private currentSchema(): Promise<string> {
    this.schema ??= this.engineRunner
      .autocommit(function* () {
        const rows = yield* all<{ schema: string | null }>("SELECT current_schema() AS `schema`");
        const schema = rows[0]?.schema ?? null;
        if (schema === null) throw new Error(NO_SCHEMA);
        return schema;
      })
      .catch((err: unknown) => {
        this.schema = undefined;
        throw err;
      });
    return this.schema;
  }

  async ping(): Promise<void> {
    await guard(() => this.pools.api.query("SELECT 1"));
  }

  async close(): Promise<void> {
    await this.notices.close();
    await Promise.all([this.pools.api.end(), this.pools.engine.end(), this.pools.events.end()]);
  }
}
