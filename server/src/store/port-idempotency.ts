/**
 * The store port's part about idempotency keys (docs/security.md, "Idempotency keys"): the record
 * of each key a client sent on a mutating call, with the call's answer once it is known. Part of
 * the `Store` interface (port.ts, which re-exports this file), optional: a store without it
 * (Redis Cluster) refuses calls that send a key.
 *
 * The record is written in two steps. The change's own transaction writes it (without an
 * answer): each transaction of a keyed call that writes anything first makes sure the key's
 * record is there and belongs to this call (lib/idempotent-call.ts; the SQL stores'
 * sql/keyed-runner.ts), so a change that commits commits its key with it, on whichever node.
 * The answer is known only after the commit: `recordAnswer` adds it (or, for a call that
 * changed nothing, writes the record with its answer).
 */
import type { IdempotentCall } from "../lib/idempotent-call.js";

/** What a call answered: its response message's bytes, or a final error. */
export type IdempotentAnswer =
  | { readonly ok: true; readonly response: Uint8Array }
  | { readonly ok: false; readonly code: number; readonly message: string };

export interface IdempotencyRecord {
  readonly method: string;
  readonly requestHash: string;
  readonly callId: string;
  readonly deadlineAt: number;
  readonly expiresAt: number;
  /** Null: a change of the call committed and its answer was not recorded (yet). */
  readonly answer: IdempotentAnswer | null;
}

/** Thrown out of a keyed call's transaction whose key another call holds (it rolls back). */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super("the idempotency key belongs to another call");
    this.name = "IdempotencyKeyTaken";
  }
}

export interface IdempotencyStore {
  /** The record of (principal, key), unless there is none or it expired by `now`. */
  getIdempotencyRecord(
    principal: string,
    key: string,
    now: number,
  ): Promise<IdempotencyRecord | null>;
  /**
   * Records `answer` as the answer of `call` (its record written by its change, or written now
   * when it changed nothing). Null when recorded; the record of another call that holds the key
   * (unexpired at `now`) otherwise, whose answer is then the one to give.
   */
  recordAnswer(
    call: IdempotentCall,
    answer: IdempotentAnswer,
    now: number,
  ): Promise<IdempotencyRecord | null>;
  /** Retention: deletes up to `limit` records expired by `now`; answers how many. */
  deleteExpiredIdempotencyKeys(now: number, limit: number): Promise<number>;
}
