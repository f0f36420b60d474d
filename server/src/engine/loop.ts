/** The engine's loops: a step run again and again, sleeping between passes. */
import type { Clock } from "../clock.js";
import type { Waiter } from "../lib/waiter.js";
import type { Logger } from "../logger.js";
import { isUnavailable } from "../store/errors.js";

const LOOP_ERROR_BACKOFF_MS = 1000;

export interface LoopControl {
  /** The loop ends when this answers true (checked before each pass). */
  stopped(): boolean;
  /** A pass found the store unavailable (the sweeper then spares leases for a while). */
  outage(at: number): void;
}

/**
 * Runs `once` until stopped; `once` answers when to run again (a clock time), and `waiter`
 * sleeps until then unless woken. A failed pass is logged and retried after a second.
 */
export async function runLoop(
  name: string,
  waiter: Waiter,
  once: () => Promise<number>,
  clock: Clock,
  log: Logger,
  control: LoopControl,
): Promise<void> {
  while (!control.stopped()) {
    let next: number;
    try {
      next = await once();
    } catch (err) {
      const unavailable = isUnavailable(err);
      if (unavailable) control.outage(clock.now());
      log.warn({ err, loop: name }, unavailable ? "store unavailable" : "engine loop failed");
      next = clock.now() + LOOP_ERROR_BACKOFF_MS;
    }
    if (next <= clock.now()) {
      // Again at once, but let I/O in first (SQLite transactions complete synchronously).
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    await waiter.sleep(clock, next);
  }
}
