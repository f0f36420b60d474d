import { DateTime } from "luxon";
import {
  compileTrigger,
  fireTimes,
  type TriggerSpec,
} from "../../server/src/domain/triggers/index.js";

/** An instant from an ISO string; a string without an offset is read in `zone`. */
export function at(iso: string, zone = "UTC"): number {
  const dt = DateTime.fromISO(iso, { zone });
  if (!dt.isValid) throw new Error(`bad instant ${iso}`);
  return dt.toMillis();
}

/** Fire times as ISO strings in `zone` (the conformance format). */
export function fires(spec: TriggerSpec, after: string, count: number, zone = "UTC"): string[] {
  return fireTimes(compileTrigger(spec), at(after, zone), count).map(
    (x) => DateTime.fromMillis(x, { zone }).toISO({ suppressMilliseconds: true }) ?? "",
  );
}
