/** Page sizes of list requests. */
import { InvalidArgumentError } from "../../domain/errors.js";

/** A request's `page_size`: 0 means 100; otherwise 1 to `max`. */
export function pageSize(value: number, max: number): number {
  if (value === 0) return 100;
  if (value < 0 || value > max)
    throw new InvalidArgumentError("page_size", `must be from 1 to ${max} (0 means 100)`);
  return value;
}
