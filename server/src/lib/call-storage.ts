/**
 * A value carried through the async work of a call (AsyncLocalStorage), for what a call sets
 * once and a deep layer reads: its deadline (deadline.ts), its actor (actor.ts).
 *
 * On Node 20, an AsyncLocalStorage in use runs a hook on every promise of the process:
 * promise-heavy code (the engine's store calls) ran 3.5 times slower once the first RPC had
 * run. So each storage is switched off whenever none of its calls is under way, and a node that
 * serves no unary call at the moment (firing, dispatch, results) runs without the hook.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export class CallStorage<T> {
  private readonly storage = new AsyncLocalStorage<T>();
  /** Calls under run() that have not settled yet. */
  private underWay = 0;

  /**
   * Runs `fn` with `value` for everything it starts and awaits. (Work it starts and does not
   * await, still running after `fn` settled, may lose the value.)
   */
  run<R>(value: T, fn: () => Promise<R>): Promise<R> {
    this.underWay++;
    let work: Promise<R>;
    try {
      work = this.storage.run(value, fn);
    } catch (err) {
      this.settled();
      throw err;
    }
    return work.finally(() => {
      this.settled();
    });
  }

  /** The value of the current call's work, if any. */
  get(): T | undefined {
    return this.storage.getStore();
  }

  private settled(): void {
    this.underWay--;
    // No call needs the value any more: the promise hook goes until the next one.
    if (this.underWay === 0) this.storage.disable();
  }
}
