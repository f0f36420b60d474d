/**
 * Who the work under way is done for (the audit's actor: an API key's id, `env:<n>` or
 * `anonymous`), carried through async calls like the deadline (deadline.ts): the API's
 * interceptor sets it around each unary call; the use cases that record a change ask for it,
 * without every layer in between passing it on. Work not started by a call (the engine's loops,
 * worker sessions) has none.
 *
 * As with the deadline, the storage is switched off whenever no call is under way: on Node 20 an
 * AsyncLocalStorage in use runs a hook on every promise of the process (deadline.ts says why).
 */
import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<string>();
/** Calls under withActor that have not settled yet. */
let underWay = 0;

function settled(): void {
  underWay--;
  if (underWay === 0) storage.disable();
}

/** Runs `fn` with `actor` as the actor of everything it starts and awaits. */
export function withActor<T>(actor: string, fn: () => Promise<T>): Promise<T> {
  underWay++;
  let work: Promise<T>;
  try {
    work = storage.run(actor, fn);
  } catch (err) {
    settled();
    throw err;
  }
  return work.finally(settled);
}

/** The actor of the current work, if it was started by a call. */
export function currentActor(): string | undefined {
  return storage.getStore();
}
