/** Timestamps and durations: the well-known types as milliseconds. */
import {
  durationFromMs,
  durationMs,
  timestampFromMs,
  timestampMs,
  type Duration,
  type Timestamp,
} from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../../domain/errors.js";

/** An instant in milliseconds; null when the timestamp is unset. */
export function msOf(ts: Timestamp | undefined): number | null {
  return ts === undefined ? null : timestampMs(ts);
}

export function ts(ms: number): Timestamp {
  return timestampFromMs(ms);
}

/** A timestamp, or unset for null, undefined or a non-finite number. */
export function optionalTs(ms: number | null | undefined): Timestamp | undefined {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? undefined : timestampFromMs(ms);
}

/** A duration in milliseconds (null when unset); a negative one is refused, naming `field`. */
export function nonNegativeMs(d: Duration | undefined, field: string): number | null {
  if (d === undefined) return null;
  const ms = durationMs(d);
  if (!(ms >= 0)) throw new InvalidArgumentError(field, "must not be negative");
  return ms;
}

/**
 * A number of seconds (a trigger's jitter) as a duration, to the millisecond: the API's precision,
 * and a whole number of nanoseconds (1.001 s is 1000.9999999999999 ms in floating point, whose
 * nanoseconds protobuf cannot encode).
 */
export function secondsDuration(seconds: number): Duration {
  return durationFromMs(Math.round(seconds * 1000));
}
