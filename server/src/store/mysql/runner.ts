/**
 * Runs the SQL operations (sql/runner.ts) on a MySQL pool. Every connection works in READ
 * COMMITTED, so that claims take no gap locks that would block the inserts of other nodes' runs.
 * Deadlocks are retried; a lost connection surfaces as StoreUnavailableError.
 *
 * On a pool that allows several statements per query (`pipelined`), a transaction costs fewer
 * round trips: START TRANSACTION goes out with its first statement, and writes whose result the
 * operation does not read (Op.deferred: the events, the final updates) go out with the next
 * statement or with the COMMIT, in order. On a loaded machine each round trip waits for the
 * database thread to be scheduled (10 ms and more were measured), so a lease or a batch of
 * results went from eight and five round trips to four and two. There the event log rows such a
 * transaction inserts also get their cursors in the round trip that commits it
 * (sql/events/sequence-at-commit.ts), when every one of them was held for it.
 */
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2";
import { timeLeft } from "../../lib/deadline.js";
import { bounded } from "../bounded.js";
import { StoreTimeoutError, isDeadlock, storeError } from "../errors.js";
import type { EventDraft } from "../../domain/events.js";
import { sequencedAtCommit, sequencingOps } from "../sql/events/sequence-at-commit.js";
import {
  drive,
  type CommittedEventsListener,
  type LogRow,
  type Op,
  type Param,
  type SequencedRows,
  type SqlRunner,
  type Tx,
  opChars,
  STATEMENT_CHARS,
} from "../sql/runner.js";

const DEADLOCK_RETRIES = 5;

/**
 * The most characters of statements sent together in one query, about: held writes go out
 * before a statement that would take their query past it, and a commit whose event rows would
 * leaves them to the sequencer. Four statements cut to STATEMENT_CHARS, so that a query stays
 * within `max_allowed_packet` (16 MiB by default since MariaDB 10.2 and MySQL 8) even with every
 * character escaped. A batch of 200 results of 64 KB, with their events, was one 26 MB query:
 * refused, and every result of the batch with it, again at each retry.
 */
const PACKET_CHARS = 4 * STATEMENT_CHARS;

function query(conn: Pool | PoolConnection, op: Op): Promise<unknown> {
  return new Promise((resolve, reject) => {
    conn.query(op.sql, op.params as Param[], (err, result) => {
      if (err) {
        reject(err);
        return;
      }
      resolve(op.kind === "all" ? result : (result as ResultSetHeader).affectedRows);
    });
  });
}

/**
 * Sends `ops` (two or more) as one multi-statement query (the connection must allow it); answers
 * each one's result. Values are escaped into the text by mysql2 as for a single statement.
 */
function queryEach(conn: PoolConnection, ops: readonly Op[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    conn.query(
      ops.map((o) => o.sql).join(";\n"),
      ops.flatMap((o) => o.params as Param[]),
      (err, results) => {
        if (err) reject(err);
        else resolve(results as unknown[]);
      },
    );
  });
}

/** queryEach, answering the last statement's result only. */
async function queryAll(conn: PoolConnection, ops: readonly Op[]): Promise<unknown> {
  const last = ops[ops.length - 1];
  if (last === undefined) return undefined;
  if (ops.length === 1) return query(conn, last);
  const result = (await queryEach(conn, ops))[ops.length - 1];
  return last.kind === "all" ? result : (result as ResultSetHeader).affectedRows;
}

/**
 * The round trip that commits: `held` and the COMMIT, the event log rows of the held inserts
 * given their cursors on the way when `sequence` (sql/events/sequence-at-commit.ts). Answers
 * what was sequenced, if anything.
 */
async function commit(
  held: readonly Op[],
  sequence: boolean,
  send: (ops: readonly Op[]) => Promise<unknown[]>,
): Promise<SequencedRows | undefined> {
  const rows: LogRow[] = sequence ? held.flatMap((o) => o.logRows ?? []) : [];
  if (rows.length === 0) {
    await send([...held, COMMIT]);
    return undefined;
  }
  // The lock is taken after every other statement of the transaction (see that module).
  const sequencing = sequencingOps(rows);
  const results = await send([
    ...held.filter((o) => o.logRows === undefined),
    ...sequencing,
    COMMIT,
  ]);
  return sequencedAtCommit(rows, results);
}

const START: Op = { kind: "run", sql: "START TRANSACTION", params: [] };
const COMMIT: Op = { kind: "run", sql: "COMMIT", params: [] };

/**
 * How long a session may sit idle inside a transaction before MariaDB ends it (10.3+:
 * `idle_transaction_timeout`, in seconds), rolling the transaction back and freeing its row
 * locks: a node cut off mid-transaction would otherwise hold the jobs it claimed, and no node
 * could fire them, until the server noticed the connection gone (`wait_timeout`, 8 h by
 * default). A smaller server-wide value is kept. MySQL has no such limit (there the TCP
 * keepalive of the node's connections, and the call's deadline, are all there is).
 */
export const IDLE_TRANSACTION_TIMEOUT_S = 30;

/** MariaDB's unknown system variable (MySQL has no idle_transaction_timeout). */
const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

/**
 * Sets READ COMMITTED on each new connection of a pool, and the idle transaction timeout where
 * the server has one (and keeps idle errors quiet).
 */
export function readCommitted(pool: Pool): Pool {
  pool.on("connection", (conn) => {
    conn.on("error", () => undefined);
    // Queued before anything else on the new connection, so it applies before its first use;
    // a connection where it fails is destroyed rather than used in REPEATABLE READ.
    conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", (err) => {
      if (err) conn.destroy();
    });
    // MySQL answers that it has no such variable, and the connection goes on without it.
    conn.query(
      "SET SESSION idle_transaction_timeout = IF(@@GLOBAL.idle_transaction_timeout BETWEEN 1 AND ?, @@GLOBAL.idle_transaction_timeout, ?)",
      [IDLE_TRANSACTION_TIMEOUT_S, IDLE_TRANSACTION_TIMEOUT_S],
      (err) => {
        if (err && err.errno !== ER_UNKNOWN_SYSTEM_VARIABLE) conn.destroy();
      },
    );
  });
  return pool;
}

export class MysqlRunner implements SqlRunner {
  private eventsCommitted: CommittedEventsListener = () => undefined;

  /**
   * `pool`: its connections set up with readCommitted; `pipelined`: the pool allows several
   * statements per query (and escapes safely, see MysqlStore), so transactions batch them.
   */
  constructor(
    private readonly pool: Pool,
    private readonly pipelined = false,
    /** Whether a pipelined transaction gives its event rows cursors as it commits. */
    private readonly atCommit: () => boolean = () => false,
  ) {}

  onEventsCommitted(listener: CommittedEventsListener): void {
    this.eventsCommitted = listener;
  }

  async tx<T>(body: () => Tx<T>): Promise<T> {
    try {
      return await this.txOnce(body);
    } catch (err) {
      throw storeError(err);
    }
  }

  private async txOnce<T>(body: () => Tx<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (timeLeft() <= 0) throw new StoreTimeoutError();
      const waiting = { late: false };
      const conn = await bounded(
        new Promise<PoolConnection>((resolve, reject) => {
          this.pool.getConnection((err, c) => {
            if (err) reject(err);
            else if (waiting.late) c.release();
            else resolve(c);
          });
        }),
        () => {
          waiting.late = true;
        },
      );
      const state: { broken: boolean; events: EventDraft[] } = { broken: false, events: [] };
      // Past the deadline the connection is destroyed: the server rolls the transaction back,
      // and no COMMIT is sent after it (a COMMIT sent before it may still land: idempotency
      // keys make the client's retry safe).
      const late = () => {
        state.broken = true;
        conn.destroy();
      };
      const run = (op: Op) => bounded(query(conn, op), late);
      const runAll = (ops: readonly Op[]) => bounded(queryAll(conn, ops), late);
      try {
        // Statements held to go out with the next one (pipelined only), and their characters.
        let held: Op[] = [];
        let heldChars = 0;
        // Whether an event log insert went out before the commit (its rows then get cursors
        // from the sequencer, and so do the others of the transaction, to keep them in order).
        const sent = { log: false };
        /** Sends these statements as one query now; answers the last one's result. */
        const flush = (ops: readonly Op[]): Promise<unknown> => {
          if (ops.some((o) => o.logRows !== undefined)) sent.log = true;
          return runAll(ops);
        };
        if (this.pipelined) held.push(START);
        else await run(START);
        const value = await drive(body(), async (op) => {
          if (op.events !== undefined) for (const e of op.events) state.events.push(e);
          if (!this.pipelined) return run(op);
          const chars = opChars(op);
          if (held.length > 0 && heldChars + chars > PACKET_CHARS) {
            // Too much for one query: what is held goes first, on its own.
            await flush(held);
            held = [];
            heldChars = 0;
          }
          if (op.deferred === true) {
            held.push(op);
            heldChars += chars;
            return 0;
          }
          const ops = [...held, op];
          held = [];
          heldChars = 0;
          return flush(ops);
        });
        if (timeLeft() <= 0) throw new StoreTimeoutError();
        let sequence = this.pipelined && !sent.log && this.atCommit();
        if (heldChars > PACKET_CHARS) {
          // The commit's query would be too large: the writes go first, and the event rows too
          // unless they fit alone (then the sequencer gives them their cursors).
          const rows = held.filter((o) => o.logRows !== undefined);
          const rowChars = rows.reduce((n, o) => n + opChars(o), 0);
          const keep = sequence && rowChars <= PACKET_CHARS ? rows : [];
          const first = held.filter((o) => !keep.includes(o));
          if (first.length > 0) await flush(first);
          held = keep;
          sequence &&= keep.length > 0;
        }
        const sequenced = await commit(held, sequence, (ops) =>
          bounded(queryEach(conn, ops), late),
        );
        if (state.events.length > 0) this.eventsCommitted(state.events, sequenced);
        return value;
      } catch (err) {
        if (!state.broken)
          await query(conn, { kind: "run", sql: "ROLLBACK", params: [] }).catch(() => {
            state.broken = true;
          });
        if (isDeadlock(err) && attempt < DEADLOCK_RETRIES) continue;
        throw err;
      } finally {
        if (state.broken) conn.destroy();
        else conn.release();
      }
    }
  }

  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    const state: { events: EventDraft[] } = { events: [] };
    try {
      if (timeLeft() <= 0) throw new StoreTimeoutError();
      return await drive(body(), async (op) => {
        // A pool query cannot be withdrawn; past the deadline its answer is not waited for.
        const result = await bounded(query(this.pool, op), () => undefined);
        if (op.events !== undefined) for (const e of op.events) state.events.push(e);
        return result;
      });
    } catch (err) {
      throw storeError(err);
    } finally {
      if (state.events.length > 0) this.eventsCommitted(state.events);
    }
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      this.pool.end(() => {
        resolve();
      });
    });
  }
}
