/**
 * The idempotency key of the call under way (docs/security.md, "Idempotency keys"), carried
 * through async calls like the deadline (call-storage.ts): the API's idempotency interceptor
 * sets it around a mutating call that sent an `idempotency-key`; the SQL store's runners ask for
 * it, and write the key's record in the same transaction as each change the call makes, without
 * every layer in between passing it on. Work not started by such a call has none.
 */
import { CallStorage } from "./call-storage.js";

export interface IdempotentCall {
  /** Who sent it (the audit's actor): keys are per principal. */
  readonly principal: string;
  /** The client's key. */
  readonly key: string;
  /** `Service/Method`. */
  readonly method: string;
  /** SHA-256 (hex) of the request message's bytes. */
  readonly requestHash: string;
  /** This attempt's own id: tells its record from another call's with the same key. */
  readonly callId: string;
  /** The call's deadline (epoch milliseconds): its answer is recorded before it, or never. */
  readonly deadlineAt: number;
  /** When the call began, by the server's clock (records expired by then may be taken over). */
  readonly startedAt: number;
  /** When the record may be deleted (epoch milliseconds). */
  readonly expiresAt: number;
  /** The call has answered: later work it started writes no record. */
  settled: boolean;
}

const storage = new CallStorage<IdempotentCall>();

/** Runs `fn` with `call` as the idempotent call of everything it starts and awaits. */
export function withIdempotentCall<T>(call: IdempotentCall, fn: () => Promise<T>): Promise<T> {
  return storage.run(call, fn);
}

/** The idempotent call the current work belongs to, while it has not answered. */
export function currentIdempotentCall(): IdempotentCall | undefined {
  const call = storage.get();
  return call === undefined || call.settled ? undefined : call;
}
