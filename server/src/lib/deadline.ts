/**
 * The deadline of the work under way, carried through async calls (call-storage.ts): whoever
 * starts a piece of work with a deadline (an RPC) sets it once; whoever waits on something slow
 * (a database statement) asks for it, without every layer in between passing it on.
 */
import { CallStorage, type Binding } from "./call-storage.js";

const storage = new CallStorage<number>();

/** Runs `fn` with `at` (epoch milliseconds) as the deadline of everything it starts and awaits. */
export function withDeadline<T>(at: number, fn: () => Promise<T>): Promise<T> {
  return storage.run(at, fn);
}

/** `at` as the deadline of the work run with it (call-storage.ts: runWith). */
export function deadlineBinding(at: number): Binding {
  return storage.bind(at);
}

/** The deadline of the current work (epoch milliseconds), if it has one. */
export function currentDeadline(): number | undefined {
  return storage.get();
}

/** Milliseconds left before the current deadline; Infinity without one. */
export function timeLeft(now: number = Date.now()): number {
  const at = storage.get();
  return at === undefined ? Number.POSITIVE_INFINITY : at - now;
}
