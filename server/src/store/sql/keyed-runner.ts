/**
 * A runner (runner.ts) that writes the idempotency key of the call under way
 * (lib/idempotent-call.ts) in the same transaction as each change the call makes: before the
 * first write of a transaction, claimKey (idempotency/claim-key.ts) makes sure the key's record
 * is there and is this call's, or throws IdempotencyKeyTaken, which rolls the transaction back.
 * A transaction that only reads writes no record; work without a keyed call runs as before.
 *
 * Every transaction of a keyed call that writes carries the record, so however the call splits
 * its change (AddJobs: one transaction per job), none of it commits without the key, and a
 * retry holding the same key can never apply any of it again.
 */
import { currentIdempotentCall, type IdempotentCall } from "../../lib/idempotent-call.js";
import type { Dialect } from "./dialect.js";
import { claimKey } from "./idempotency/claim-key.js";
import type { Op, SqlRunner, Tx } from "./runner.js";

/** A statement that may change something (every SQL statement here that is not a SELECT). */
function writes(op: Op): boolean {
  return op.kind === "run" || !/^\s*SELECT\b/i.test(op.sql);
}

/** `body`, with the key's claim before its first write. */
function* claimingBody<T>(body: Tx<T>, dialect: Dialect, call: IdempotentCall): Tx<T> {
  let claimed = false;
  let step = body.next();
  while (!step.done) {
    const op = step.value;
    if (!claimed && writes(op)) {
      claimed = true;
      try {
        yield* claimKey(dialect, call, call.startedAt);
      } catch (err) {
        // The body's `finally` runs; the error rolls the transaction back.
        body.return(undefined as T);
        throw err;
      }
    }
    let result: unknown;
    try {
      result = yield op;
    } catch (err) {
      step = body.throw(err);
      continue;
    }
    step = body.next(result);
  }
  return step.value;
}

export function keyedRunner(runner: SqlRunner, dialect: Dialect): SqlRunner {
  return {
    onEventsCommitted: (listener) => {
      runner.onEventsCommitted(listener);
    },
    tx: <T>(body: () => Tx<T>): Promise<T> => {
      const call = currentIdempotentCall();
      return call === undefined
        ? runner.tx(body)
        : runner.tx(() => claimingBody(body(), dialect, call));
    },
    autocommit: (body) => runner.autocommit(body),
  };
}
