/** Page sizes of list requests. */
import { InvalidArgumentError } from "../../domain/errors.js";

/** What a request's `page_size` of 0 means, unless the server's largest page is smaller. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * A request's `page_size`: 0 means 100; a size over `max` (METRONOME_MAX_PAGE_SIZE) is capped at
 * `max`, not refused: a page may hold fewer items than asked for, so a client asking for more
 * than this server's largest page reads the same items in more pages. Negative is refused.
 */
export function pageSize(value: number, max: number): number {
  if (value < 0)
    throw new InvalidArgumentError(
      "page_size",
      `must not be negative (0 means ${String(DEFAULT_PAGE_SIZE)})`,
    );
  return Math.min(value === 0 ? DEFAULT_PAGE_SIZE : value, max);
}

/**
 * The most bytes of items one page answer carries, as the binary encoding counts them: with the
 * rest of the answer (a page token) and gRPC's frame it stays well under the 4 MiB that gRPC
 * libraries accept by default (@grpc/grpc-js, grpc-go, grpc-java). One job or run is far below
 * it with the default payload limit (METRONOME_MAX_PAYLOAD_BYTES: args and kwargs at most 64 KiB
 * of JSON together, a result 64 KiB, each carried twice, as values and as JSON); a larger one
 * goes alone.
 */
export const MAX_PAGE_BYTES = 3 * 1024 * 1024;

/** How many of the first `items` fit in `maxBytes` by `bytesOf` (at least one, if any). */
export function fittingCount<T>(
  items: readonly T[],
  bytesOf: (item: T) => number,
  maxBytes = MAX_PAGE_BYTES,
): number {
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += bytesOf(items[i] as T);
    if (i > 0 && bytes > maxBytes) return i;
  }
  return items.length;
}
