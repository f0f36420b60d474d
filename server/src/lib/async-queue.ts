/**
 * An unbounded single-consumer queue that is also an async iterable: the outgoing side of a
 * worker session. `close()` ends the iteration after the queued items; `fail()` ends it with an
 * error at once.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((err: unknown) => void) | undefined;
  private closed = false;
  private error = new Error("the queue failed");
  private failed = false;

  get isClosed(): boolean {
    return this.closed || this.failed;
  }

  push(item: T): void {
    if (this.isClosed) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    if (w !== undefined && this.items.length === 0) w({ value: undefined, done: true });
  }

  fail(err: unknown): void {
    if (this.isClosed) return;
    this.failed = true;
    this.error = err instanceof Error ? err : new Error(String(err));
    this.items = [];
    const f = this.failWaiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    f?.(err);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.failed) return Promise.reject(this.error);
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiter = resolve;
          this.failWaiter = reject;
        });
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
