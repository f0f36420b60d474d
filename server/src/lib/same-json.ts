/** Equality of values as JSON documents. */
import { isDeepStrictEqual } from "node:util";

/** Equal as JSON documents (key order and undefined members do not matter). */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}
