/**
 * The optimistic commit of decisions made in TypeScript, bounded: an operation reads, decides and
 * commits with a script that writes nothing and answers CONFLICT when a record it read changed
 * meanwhile; then it reads again, after a short random pause that grows with each conflict (so
 * nodes racing for the same records stop meeting in step, and a busy operation does not spin on
 * Redis and on its node's event loop). After MAX_ATTEMPTS conflicts in a row, or once the call's
 * deadline has passed, it gives up with StoreUnavailableError (UNAVAILABLE: retry later), as a
 * SQL store answers a lock wait that timed out. Operations that meet contention by design take a
 * fence first (fences.ts), so their retries converge instead of racing the engine's claims and
 * hand-outs.
 */
import { timeLeft } from "../../lib/deadline.js";
import { StoreTimeoutError, StoreUnavailableError } from "../errors.js";

/** A script's answer when what it was to commit changed since it was read. */
export const CONFLICT = "conflict";

/** How many times an operation reads and decides again before it gives up. */
export const MAX_ATTEMPTS = 50;

/** The pause after the first conflict, at most (ms); it doubles with each one, up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 2;
const MAX_PAUSE_MS = 100;

/** A pause of up to `ms`, cut short by the current deadline (none past it). */
function pause(ms: number): Promise<void> {
  const wait = Math.min(ms, Math.max(0, timeLeft()));
  return new Promise((resolve) => setTimeout(resolve, wait));
}

/** The pause before attempt `round` (1: after the first conflict): random, "full jitter". */
export function pauseBefore(round: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** Math.min(round - 1, 16));
  return Math.floor(random() * cap);
}

/** The error of an operation that met a conflicting change on every attempt. */
export class ContendedError extends StoreUnavailableError {
  constructor(operation: string, attempts: number) {
    super(
      new Error(
        `${operation}: what it read was changed by another node or call on each of ${String(attempts)} attempts`,
      ),
    );
    this.name = "ContendedError";
  }
}

/**
 * Reads, decides and commits until the commit finds what it read unchanged: `attempt` answers
 * CONFLICT when its script did, and runs again (`round` counts the conflicts so far, so that an
 * attempt can take a fence once it met one). `operation` names it in the error.
 */
export async function optimistic<T>(
  operation: string,
  attempt: (round: number) => Promise<T | typeof CONFLICT>,
): Promise<T> {
  for (let round = 0; round < MAX_ATTEMPTS; round++) {
    if (round > 0) {
      await pause(pauseBefore(round));
      if (timeLeft() <= 0) throw new StoreTimeoutError();
    }
    const result = await attempt(round);
    if (result !== CONFLICT) return result;
  }
  throw new ContendedError(operation, MAX_ATTEMPTS);
}
