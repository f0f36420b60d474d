/**
 * The request side of a bidirectional stream: an async iterable that the transport pulls from
 * and the worker pushes to. Connect-ES pulls one message at a time and only after the previous one
 * was written, so an item can be given as a function that builds the message when it is pulled
 * (a heartbeat then lists the leases held at the moment it goes out, not when it was queued).
 *
 * The queue is its own iterator: Connect calls `[Symbol.asyncIterator]()` again to call
 * `return()`/`throw()` when the call is aborted, and both must reach the same state.
 */

type Item<T> =
  | { readonly value: T }
  | { readonly build: () => T }
  | { readonly buildMany: () => readonly [T, ...T[]] };

export class RequestQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: Item<T>[] = [];
  private readonly pullers: ((result: IteratorResult<T, undefined>) => void)[] = [];
  /** No more pushes; the iteration ends once the queued items are pulled. */
  private ending = false;
  /** The iteration has ended. */
  private done = false;

  /** Queues a message; false (and nothing queued) once the queue is ending or done. */
  push(value: T): boolean {
    return this.add({ value });
  }

  /** Queues a message built when the transport pulls it. */
  pushLazy(build: () => T): boolean {
    return this.add({ build });
  }

  /**
   * Queues messages built when the transport pulls the first: the others follow it, ahead of
   * anything queued meanwhile (and are sent even if the queue is ending by then).
   */
  pushLazyMany(build: () => readonly [T, ...T[]]): boolean {
    return this.add({ buildMany: build });
  }

  /** Ends the iteration after the queued items (half-closes the stream). */
  end(): void {
    this.ending = true;
    if (this.items.length === 0) this.finish();
  }

  /** Ends the iteration now, dropping queued items. */
  close(): void {
    this.items.length = 0;
    this.finish();
  }

  get closed(): boolean {
    return this.ending || this.done;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const item = this.items.shift();
    if (item !== undefined) {
      const result = { done: false, value: this.materialise(item) } as const;
      if (this.ending && this.items.length === 0) this.finish();
      return Promise.resolve(result);
    }
    if (this.done || this.ending) {
      this.finish();
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve) => this.pullers.push(resolve));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(): Promise<IteratorResult<T, undefined>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private add(item: Item<T>): boolean {
    if (this.ending || this.done) return false;
    const puller = this.pullers.shift();
    if (puller === undefined) this.items.push(item);
    else puller({ done: false, value: this.materialise(item) });
    return true;
  }

  /** The message of an item; the further messages of a `buildMany` go first in the queue. */
  private materialise(item: Item<T>): T {
    if ("value" in item) return item.value;
    if ("build" in item) return item.build();
    const [first, ...rest] = item.buildMany();
    this.items.unshift(...rest.map((value) => ({ value })));
    return first;
  }

  private finish(): void {
    this.done = true;
    for (const puller of this.pullers.splice(0)) puller({ done: true, value: undefined });
  }
}
