/**
 * The deadline of the work under way, carried through async calls (AsyncLocalStorage): whoever
 * starts a piece of work with a deadline (an RPC) sets it once; whoever waits on something slow
 * (a database statement) asks for it, without every layer in between passing it on.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<number>();

/** Runs `fn` with `at` (epoch milliseconds) as the deadline of everything it starts. */
export function withDeadline<T>(at: number, fn: () => T): T {
  return storage.run(at, fn);
}

/** The deadline of the current work (epoch milliseconds), if it has one. */
export function currentDeadline(): number | undefined {
  return storage.getStore();
}

/** Milliseconds left before the current deadline; Infinity without one. */
export function timeLeft(now: number = Date.now()): number {
  const at = storage.getStore();
  return at === undefined ? Number.POSITIVE_INFINITY : at - now;
}
