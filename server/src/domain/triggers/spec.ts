/**
 * Trigger specifications: plain data, as stored and as the API carries them (instants are UTC
 * epoch milliseconds). `compileTrigger` validates a spec and turns it into a `Trigger`.
 */
import type { CronFields } from "./cron-fields.js";

/** Bounds and jitter shared by the calendar and interval triggers. */
export interface TriggerBounds {
  /** The trigger's IANA time zone. */
  readonly timezone: string;
  /** First instant that may fire (inclusive). For an interval: the grid's origin. */
  readonly startDate?: number | null | undefined;
  /** Last instant that may fire (inclusive). */
  readonly endDate?: number | null | undefined;
  /** Each fire is delayed by a uniform random amount in [0, jitter] seconds. */
  readonly jitter?: number | null | undefined;
}

export interface CronTriggerSpec extends TriggerBounds {
  readonly type: "cron";
  readonly fields: CronFields;
}

export interface CrontabTriggerSpec extends TriggerBounds {
  readonly type: "crontab";
  readonly expression: string;
}

export interface IntervalTriggerSpec extends TriggerBounds {
  readonly type: "interval";
  readonly weeks?: number | undefined;
  readonly days?: number | undefined;
  readonly hours?: number | undefined;
  readonly minutes?: number | undefined;
  readonly seconds?: number | undefined;
  /** Required for an interval: the instant of its first fire. */
  readonly startDate: number;
}

export interface DateTriggerSpec {
  readonly type: "date";
  readonly runDate: number;
  readonly timezone: string;
  readonly jitter?: number | null | undefined;
}

export interface CombinedTriggerSpec {
  readonly type: "and" | "or";
  readonly triggers: readonly TriggerSpec[];
  readonly jitter?: number | null | undefined;
}

export type TriggerSpec =
  | CronTriggerSpec
  | CrontabTriggerSpec
  | IntervalTriggerSpec
  | DateTriggerSpec
  | CombinedTriggerSpec;

export type TriggerType = TriggerSpec["type"];
