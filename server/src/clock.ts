/** The one source of "now" (epoch milliseconds). Injected so tests drive time instead of sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
