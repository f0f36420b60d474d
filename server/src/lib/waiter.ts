/** What a Waiter sleeps on: a clock that can call back at a time (the server's Clock fits). */
export interface WakeClock {
  /** Calls `fn` once when the clock reaches `at`; returns a cancel. */
  wakeAt(at: number, fn: () => void): () => void;
}

/** A sleep that ends at a clock time or when woken, whichever comes first. */
export class Waiter {
  private wakeNow: (() => void) | undefined;
  private pending = false;
  /** While sleeping: the clock time the sleep ends. */
  private until = Number.NEGATIVE_INFINITY;

  wake(): void {
    if (this.wakeNow) this.wakeNow();
    else this.pending = true;
  }

  /**
   * Wakes the sleeper if `at` comes before the end of its sleep; while it is not asleep (its
   * pass may have read the store before the change), it looks again after its pass.
   */
  wakeFor(at: number): void {
    if (this.wakeNow === undefined) this.pending = true;
    else if (at < this.until) this.wakeNow();
  }

  sleep(clock: WakeClock, until: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const cancel = clock.wakeAt(until, () => {
        done();
      });
      const done = (): void => {
        cancel();
        this.wakeNow = undefined;
        this.until = Number.NEGATIVE_INFINITY;
        resolve();
      };
      this.wakeNow = done;
      this.until = until;
    });
  }
}
