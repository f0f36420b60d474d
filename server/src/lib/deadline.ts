/**
 * The deadline of the work under way, carried through async calls (AsyncLocalStorage): whoever
 * starts a piece of work with a deadline (an RPC) sets it once; whoever waits on something slow
 * (a database statement) asks for it, without every layer in between passing it on.
 *
 * On Node 20, AsyncLocalStorage runs a hook on every promise of the process once it is in use:
 * promise-heavy code (the engine's store calls) ran 3.5 times slower after the first RPC. So the
 * storage is switched off whenever no call with a deadline is under way, and the work of a node
 * that serves no unary RPC at the moment (firing, dispatch, results) runs without the hook.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<number>();
/** Calls under withDeadline that have not settled yet. */
let underWay = 0;

function settled(): void {
  underWay--;
  // No call needs the deadline any more: the promise hook goes until the next one.
  if (underWay === 0) storage.disable();
}

/**
 * Runs `fn` with `at` (epoch milliseconds) as the deadline of everything it starts and awaits.
 * (Work it starts and does not await, still running after `fn` settled, may lose the deadline.)
 */
export function withDeadline<T>(at: number, fn: () => Promise<T>): Promise<T> {
  underWay++;
  let work: Promise<T>;
  try {
    work = storage.run(at, fn);
  } catch (err) {
    settled();
    throw err;
  }
  return work.finally(settled);
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
