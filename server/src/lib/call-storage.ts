/**
 * A value carried through the async work of a call (AsyncLocalStorage), for what a call sets
 * once and a deep layer reads: its deadline (deadline.ts), its actor (actor.ts), its idempotency
 * key (idempotent-call.ts).
 *
 * On Node 20, an AsyncLocalStorage in use runs a hook on every promise of the process, and each
 * storage in use adds its own step to it: promise-heavy code (the engine's store calls) ran 3.5
 * times slower once the first RPC had run. So every CallStorage is a slot of one shared
 * AsyncLocalStorage (a call's values travel together, one step per promise however many there
 * are), and that storage is switched off whenever no call is under way: a node that serves no
 * unary call at the moment (firing, dispatch, results) runs without the hook.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The values of the work under way, one per CallStorage (by its slot); never changed in place. */
type Values = readonly unknown[];

const shared = new AsyncLocalStorage<Values>();
const NONE: Values = [];
/** Calls under run() (of any CallStorage) that have not settled yet. */
let underWay = 0;
let slots = 0;

function settled(): void {
  underWay--;
  // No call needs its values any more: the promise hook goes until the next one.
  if (underWay === 0) shared.disable();
}

/** A value for a storage, to run work with (runWith). */
export interface Binding {
  readonly slot: number;
  readonly value: unknown;
}

/**
 * Runs `fn` with each binding's value for everything it starts and awaits; the other storages'
 * values of the current work carry on. (Work it starts and does not await, still running after
 * `fn` settled, may lose the values.)
 */
export function runWith<R>(bindings: readonly Binding[], fn: () => Promise<R>): Promise<R> {
  const values = [...(shared.getStore() ?? NONE)];
  for (const b of bindings) values[b.slot] = b.value;
  underWay++;
  let work: Promise<R>;
  try {
    work = shared.run(values, fn);
  } catch (err) {
    settled();
    throw err;
  }
  return work.finally(settled);
}

export class CallStorage<T> {
  private readonly slot = slots++;

  /** `value` for this storage, for runWith. */
  bind(value: T): Binding {
    return { slot: this.slot, value };
  }

  /** Runs `fn` with `value` for everything it starts and awaits (runWith). */
  run<R>(value: T, fn: () => Promise<R>): Promise<R> {
    return runWith([this.bind(value)], fn);
  }

  /** The value of the current call's work, if any. */
  get(): T | undefined {
    return shared.getStore()?.[this.slot] as T | undefined;
  }
}
