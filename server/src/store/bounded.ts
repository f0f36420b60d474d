/**
 * Store work bounded by the current call's deadline (lib/deadline.ts): each runner races its
 * connection checkout and its statements against it, and drops what is late.
 */
import { timeLeft } from "../lib/deadline.js";
import { StoreTimeoutError } from "./errors.js";

/**
 * `work`, or a StoreTimeoutError once the current deadline passes (lib/deadline.ts); `onLate`
 * then runs, to drop what `work` still holds.
 */
export function bounded<T>(work: Promise<T>, onLate: () => void): Promise<T> {
  const left = timeLeft();
  if (left === Number.POSITIVE_INFINITY) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        onLate();
        reject(new StoreTimeoutError());
      },
      Math.max(0, left),
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
