/**
 * The MySQL store (MySQL 8.0+, MariaDB 10.6+): the SQL store on mysql2 pools, Drizzle's migrator
 * for the schema, and batched hot paths for the API's GetJob and AddJob (hot.ts). A lost or
 * refused connection surfaces as `StoreUnavailableError`; the pools reconnect by themselves when
 * the database is back.
 */
import { currentIdempotentCall } from "../../lib/idempotent-call.js";
import { drizzle } from "drizzle-orm/mysql2";
import { migrate } from "drizzle-orm/mysql2/migrator";
import { createPool, type Pool, type PoolOptions } from "mysql2";
import type { EventDraft } from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import { Batcher } from "../../lib/batcher.js";
import { migrationsFolder } from "../../paths.js";
import { StoreTimeoutError, storeError } from "../errors.js";
import type { PoolStat, Sequenced } from "../port.js";
import { MYSQL } from "../sql/dialect.js";
import { jobFromRow, jobToRow } from "../sql/job-rows.js";
import { SqlStore } from "../sql/store.js";
import {
  checkJobColumns,
  insertJobs,
  MAX_INSERT_BATCH,
  MAX_READ_BATCH,
  selectJobs,
  type Inserted,
  type JobInsert,
  type ReadJob,
} from "./hot.js";
import { MysqlRunner, readCommitted } from "./runner.js";

async function guard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storeError(err);
  }
}

function end(pool: Pool): Promise<void> {
  return new Promise((resolve) => {
    pool.end(() => {
      resolve();
    });
  });
}

/**
 * Four pools: the API's (management's statements and GetJob's reads), the engine's, the event
 * log's, and AddJob's multi-statement inserts (opened on first use). The API's statements do not
 * queue behind the engine's, nor the event log's behind either.
 */
export class MysqlStore extends SqlStore {
  /** Concurrent GetJob calls share queries, concurrent AddJob inserts share statements. */
  private readonly jobReads = new Batcher<{ scheduler: string; id: string }, ReadJob | null>(
    (keys) => selectJobs(this.apiPool, keys),
    { maxBatch: MAX_READ_BATCH, late: () => new StoreTimeoutError() },
  );
  /**
   * GetJob's reads with the other nodes' sessions serving each job's handler (getJobServed), per
   * node asking (one in practice); a batch counts at the latest `now` of its items.
   */
  private readonly servedReads = new Map<
    string,
    Batcher<{ scheduler: string; id: string; now: number }, ReadJob | null>
  >();
  private readonly jobInserts = new Batcher<JobInsert, Inserted>(
    async (items) => {
      return insertJobs(this.insertPool(), items, this.atCommit, (events, sequenced) => {
        if (events.length > 0) this.eventsCommitted(events, sequenced);
      });
    },
    { maxBatch: MAX_INSERT_BATCH, late: () => new StoreTimeoutError() },
  );
  private inserts: Pool | undefined;
  /** See sequencesAtCommit. */
  private atCommit = false;

  private constructor(
    private readonly options: PoolOptions,
    private readonly apiPool: Pool,
    private readonly pools: { engine: Pool; events: Pool },
  ) {
    const atCommit = () => this.atCommit;
    super(MYSQL, {
      api: new MysqlRunner(apiPool, true, atCommit),
      engine: new MysqlRunner(pools.engine, true, atCommit),
      events: new MysqlRunner(pools.events, true, atCommit),
    });
    checkJobColumns();
    // Pools connect on first use: no connection exists yet.
    for (const pool of [apiPool, pools.engine, pools.events]) this.watchLogBin(pool);
  }

  /** Each new connection of `pool` asks whether the database writes a binary log. */
  private watchLogBin(pool: Pool): void {
    pool.on("connection", (conn) => {
      conn.query("SELECT @@log_bin AS `on`", (err, rows) => {
        if (err === null) this.atCommit = Number((rows as { on: unknown }[])[0]?.on) === 0;
      });
    });
  }

  /**
   * Where the store sequences at commit (sequencesAtCommit), the transactions of every pool give
   * the events they write their cursors as they commit (MysqlRunner,
   * sql/events/sequence-at-commit.ts), and so do AddJob's inserts; the sequencer is left the rows
   * written otherwise.
   */
  onEventsSequenced(listener: (s: Sequenced) => void, wants: () => boolean): void {
    this.listenSequenced(listener, wants);
  }

  /** Each pool's connections (mysql2 keeps them in its pools' queues; read, never changed). */
  poolStats(): PoolStat[] {
    const stat = (pool: string, p: Pool): PoolStat => {
      const q = p as unknown as {
        readonly config?: { readonly connectionLimit?: number };
        readonly _allConnections?: { readonly length: number };
        readonly _freeConnections?: { readonly length: number };
        readonly _connectionQueue?: { readonly length: number };
      };
      return {
        pool,
        open: q._allConnections?.length ?? 0,
        idle: q._freeConnections?.length ?? 0,
        waiting: q._connectionQueue?.length ?? 0,
        limit: q.config?.connectionLimit ?? 0,
      };
    };
    return [
      stat("api", this.apiPool),
      stat("engine", this.pools.engine),
      stat("events", this.pools.events),
      ...(this.inserts === undefined ? [] : [stat("inserts", this.inserts)]),
    ];
  }

  static open(url: string, options: { connectionLimit?: number } = {}): MysqlStore {
    const poolOptions: PoolOptions = {
      uri: url,
      timezone: "Z",
      connectTimeout: 5000,
      // Keepalive probes find a silent peer after 10 s (the OS's default waits two hours).
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
    };
    // Pools connect on first use: a store opened while the database is down is usable once it
    // is back.
    return new MysqlStore(
      poolOptions,
      safeEscaping(
        readCommitted(
          createPool({
            ...poolOptions,
            connectionLimit: options.connectionLimit ?? 20,
            multipleStatements: true,
            charset: "UTF8MB4_BIN",
          }),
        ),
      ),
      {
        engine: safeEscaping(
          readCommitted(
            createPool({
              ...poolOptions,
              connectionLimit: 10,
              multipleStatements: true,
              charset: "UTF8MB4_BIN",
            }),
          ),
        ),
        events: safeEscaping(
          readCommitted(
            createPool({
              ...poolOptions,
              connectionLimit: 3,
              multipleStatements: true,
              charset: "UTF8MB4_BIN",
            }),
          ),
        ),
      },
    );
  }

  /** AddJob's inserts: their transactions are sent as one multi-statement query each. */
  private insertPool(): Pool {
    if (this.inserts === undefined) {
      // Values are escaped by mysql2 into the statement text here (no server-side prepare for
      // several statements): the escaping must mean what the server reads. The connection's
      // character set is fixed to utf8mb4 (no multi-byte sets where a backslash can hide in a
      // character) and the session's sql_mode loses NO_BACKSLASH_ESCAPES, so that a quote in a
      // job's name or arguments can never end the string.
      // READ COMMITTED as the other pools: the end of the log read after the sequencing lock
      // (sql/events/sequence-at-commit.ts) must see what committed while it waited for it.
      this.inserts = safeEscaping(
        readCommitted(
          createPool({
            ...this.options,
            connectionLimit: 10,
            multipleStatements: true,
            charset: "UTF8MB4_BIN",
          }),
        ),
      );
      this.watchLogBin(this.inserts);
    }
    return this.inserts;
  }

  async migrate(): Promise<void> {
    const pool = this.apiPool.promise();
    await guard(async () => {
      // Drizzle's migrator takes no lock and DDL commits implicitly: serialise nodes starting at once.
      const lock = await pool.getConnection();
      try {
        const [rows] = await lock.query("SELECT GET_LOCK('metronome_migrate', 60) AS got");
        if ((rows as { got: number | null }[])[0]?.got !== 1)
          throw new Error("timed out waiting for the migration lock");
        try {
          await migrate(drizzle({ client: pool }), { migrationsFolder: migrationsFolder("mysql") });
        } finally {
          await lock.query("SELECT RELEASE_LOCK('metronome_migrate')");
        }
      } finally {
        lock.release();
      }
    });
  }

  /**
   * Whether this store's transactions give their events cursors as they commit: once one of its
   * connections found that the database writes no binary log (sql/events/sequence-at-commit.ts
   * says why not with one; each new connection asks, before anything else it runs); until then,
   * and with one, the sequencer gives every row its cursor.
   */
  get sequencesAtCommit(): boolean {
    return this.atCommit;
  }

  async ping(): Promise<void> {
    await guard(() => this.apiPool.promise().query("SELECT 1"));
  }

  async close(): Promise<void> {
    await Promise.all([
      end(this.apiPool),
      end(this.pools.engine),
      end(this.pools.events),
      this.inserts === undefined ? undefined : end(this.inserts),
    ]);
  }

  override async insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    // The batched hot path mixes calls in one transaction: a keyed call's insert goes alone,
    // with its key (sql/keyed-runner.ts).
    if (currentIdempotentCall() !== undefined) return super.insertJob(job, events);
    return (await guard(() => this.jobInserts.run({ row: jobToRow(job), events }))).inserted;
  }

  /** insertJob with the other nodes' sessions serving its handler, read in its transaction. */
  async insertJobServed(
    job: Job,
    events: readonly EventDraft[],
    now: number,
    exceptNode: string,
  ): Promise<{ inserted: boolean; remoteWorkers: number | undefined }> {
    if (currentIdempotentCall() !== undefined)
      return { inserted: await super.insertJob(job, events), remoteWorkers: undefined };
    const { inserted, remote } = await guard(() =>
      this.jobInserts.run({ row: jobToRow(job), events, served: { now, exceptNode } }),
    );
    return {
      inserted,
      remoteWorkers: remote === undefined ? undefined : (remote.get(job.handler) ?? 0),
    };
  }

  override async getJob(scheduler: string, id: string): Promise<Job | null> {
    const read = await guard(() => this.jobReads.run({ scheduler, id }));
    return read === null ? null : jobFromRow(read.row);
  }

  /** The job and the other nodes' sessions serving its handler in one statement (hot.ts). */
  async getJobServed(
    scheduler: string,
    id: string,
    now: number,
    exceptNode: string,
  ): Promise<{ job: Job; remoteWorkers: number } | null> {
    let reads = this.servedReads.get(exceptNode);
    if (reads === undefined) {
      reads = new Batcher(
        (items) =>
          selectJobs(this.apiPool, items, {
            now: Math.max(...items.map((i) => i.now)),
            exceptNode,
          }),
        { maxBatch: MAX_READ_BATCH, late: () => new StoreTimeoutError() },
      );
      this.servedReads.set(exceptNode, reads);
    }
    const batcher = reads;
    const read = await guard(() => batcher.run({ scheduler, id, now }));
    return read === null ? null : { job: jobFromRow(read.row), remoteWorkers: read.remoteWorkers };
  }
}

/**
 * For a pool whose values are escaped into the text of several statements (multipleStatements,
 * no server-side prepare): the connection's character set must be utf8mb4 (no multi-byte set
 * where a backslash can hide in a character, set by the pool's `charset`) and the session's
 * sql_mode loses NO_BACKSLASH_ESCAPES, so that a quote in a value can never end the string.
 */
function safeEscaping(pool: Pool): Pool {
  pool.on("connection", (conn) => {
    conn.on("error", () => undefined);
    conn.query(
      "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
      (err) => {
        if (err) conn.destroy();
      },
    );
  });
  return pool;
}
