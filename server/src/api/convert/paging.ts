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
