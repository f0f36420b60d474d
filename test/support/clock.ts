import type { Clock } from "../../server/src/clock.js";

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(t: number): void {
    this.current = t;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
