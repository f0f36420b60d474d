/**
 * The PostgreSQL store (PostgreSQL 12+): the SQL store (sql/) on postgres.js pools, Drizzle's
 * migrator for the schema under an advisory lock, `FOR UPDATE SKIP LOCKED` claims and leases as
 * on MySQL, and LISTEN/NOTIFY between nodes (changes.ts). A lost or refused connection surfaces
 * as `StoreUnavailableError`; the pools reconnect by themselves when the database is back.
 */
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { migrationsFolder } from "../../paths.js";
import { storeError } from "../errors.js";
import type { StoreChange } from "../port.js";
import { POSTGRES } from "../sql/dialect.js";
import { SqlStore } from "../sql/store.js";
import { ChangeNotices } from "./changes.js";
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
  readonly api: postgres.Sql;
  /** The engine's and dispatch's. */
  readonly engine: postgres.Sql;
  /** The event log's, and LISTEN's own connection. */
  readonly events: postgres.Sql;
}

function pool(url: string, max: number): postgres.Sql {
  return postgres(url, {
    max,
    connect_timeout: 5,
    // Idle connections close: several nodes and test files share the server's connections.
    idle_timeout: 30,
    // Notices (e.g. "schema already exists, skipping" while migrating) are not errors.
    onnotice: () => undefined,
    // No types to look up: every column is a built-in type, and a store opened while the
    // database is down must not fail on its first use for want of them.
    fetch_types: false,
  });
}

/**
 * Three pools, so that the API's statements do not queue behind the engine's, nor the event
 * log's behind either. postgres.js pipelines statements on a connection, so few connections
 * carry the load: a node holds at most 11 of the server's (100 by default).
 */
export class PostgresStore extends SqlStore {
  private readonly notices: ChangeNotices;

  private constructor(
    private readonly url: string,
    private readonly pools: PostgresPools,
  ) {
    super(POSTGRES, {
      api: new PostgresRunner(pools.api),
      engine: new PostgresRunner(pools.engine),
      events: new PostgresRunner(pools.events),
    });
    this.notices = new ChangeNotices(pools.events);
  }

  /** Pools connect on first use: a store opened while the database is down works once it is back. */
  static open(url: string, options: { connectionLimit?: number } = {}): PostgresStore {
    return new PostgresStore(url, {
      api: pool(url, options.connectionLimit ?? 4),
      engine: pool(url, 4),
      events: pool(url, 2),
    });
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
      const lock = pool(this.url, 1);
      try {
        await lock`SELECT pg_advisory_lock(hashtext(${MIGRATE_LOCK}))`;
        try {
          await migrate(drizzle({ client: this.pools.api }), {
            migrationsFolder: migrationsFolder("postgres"),
            // Beside the tables (not Drizzle's own schema): pendingMigrations reads it unqualified.
            migrationsSchema: "public",
          });
        } finally {
          await lock`SELECT pg_advisory_unlock(hashtext(${MIGRATE_LOCK}))`;
        }
      } finally {
        await lock.end({ timeout: 5 });
      }
    });
  }

  async ping(): Promise<void> {
    await guard(() => this.pools.api`SELECT 1`);
  }

  async close(): Promise<void> {
    await this.notices.close();
    await Promise.all([
      this.pools.api.end({ timeout: 5 }),
      this.pools.engine.end({ timeout: 5 }),
      this.pools.events.end({ timeout: 5 }),
    ]);
  }
}
