/**
 * The one source of "now" (epoch milliseconds) and of waiting for a time to come. Injected so
 * that tests drive time instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once when the clock reaches `at` (soon, if it already has); returns a cancel. */
  wakeAt(at: number, fn: () => void): () => void;
}

/** setTimeout's longest delay; longer waits re-arm. */
const MAX_DELAY_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  wakeAt(at, fn) {
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const delay = at - Date.now();
      timer = setTimeout(
        delay > MAX_DELAY_MS ? arm : fn,
        Math.min(Math.max(0, delay), MAX_DELAY_MS),
      );
    };
    arm();
    return () => {
      clearTimeout(timer);
    };
  },
};
