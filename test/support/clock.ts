import type { Clock } from "../../server/src/clock.js";

/** A clock the test moves by hand; waiters run when it is moved past their time. */
export class ManualClock implements Clock {
  private waiters: { at: number; fn: () => void }[] = [];

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  wakeAt(at: number, fn: () => void): () => void {
    const waiter = { at, fn };
    if (at <= this.current) {
      let live = true;
      setImmediate(() => {
        if (live) fn();
      });
      return () => {
        live = false;
      };
    }
    this.waiters.push(waiter);
    return () => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    };
  }

  set(t: number): void {
    this.current = t;
    const due = this.waiters.filter((w) => w.at <= t).sort((a, b) => a.at - b.at);
    this.waiters = this.waiters.filter((w) => w.at > t);
    for (const w of due) w.fn();
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }
}
