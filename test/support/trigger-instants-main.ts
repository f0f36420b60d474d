/**
 * Prints, as one JSON line, each SDK trigger's instant given as a string (its proto instant as
 * ISO) or the error it throws, for test/unit/trigger-instants.test.ts, which runs it in several
 * time zones (`TZ`: Node reads it when the process starts).
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  CronTrigger,
  CrontabTrigger,
  DateTrigger,
  IntervalTrigger,
  triggerOf,
} from "@metronome/sdk";

const cases: Record<string, () => { toProto(): { kind?: { value?: unknown } } }> = {
  dateZ: () => new DateTrigger({ runDate: "2030-01-01T09:00:00Z" }),
  dateOffset: () =>
    new DateTrigger({ runDate: "2030-01-01T09:00:00+08:00", timezone: "Asia/Shanghai" }),
  dateSpaceOffset: () => triggerOf("date", { runDate: "2030-01-01 09:00+0800" }),
  dateNaive: () => new DateTrigger({ runDate: "2030-01-01 09:00:00", timezone: "Asia/Shanghai" }),
  dateNaiveT: () => triggerOf("date", { runDate: "2030-01-01T09:00:00" }),
  cronStartNaive: () => new CronTrigger({ hour: 9, startDate: "2030-01-01T09:00:00" }),
  cronEndDateOnly: () => new CronTrigger({ hour: 9, endDate: "2030-01-01" }),
  crontabStartNaive: () =>
    new CrontabTrigger("0 9 * * *", "UTC", { startDate: "2030-01-01T09:00" }),
  intervalDateOnly: () => new IntervalTrigger({ hours: 1, startDate: "2030-01-01" }),
  intervalEndZ: () => new IntervalTrigger({ hours: 1, endDate: "2030-01-01T00:00:00.250Z" }),
  notADate: () => new DateTrigger({ runDate: "2030-02-30T25:00:00Z" }),
};

interface Instants {
  readonly runDate?: Timestamp;
  readonly startDate?: Timestamp;
  readonly endDate?: Timestamp;
}

const out: Record<string, string> = {};
for (const [name, make] of Object.entries(cases)) {
  try {
    const v = (make().toProto().kind?.value ?? {}) as Instants;
    const t = v.runDate ?? v.startDate ?? v.endDate;
    out[name] = t === undefined ? "no instant" : timestampDate(t).toISOString();
  } catch (err) {
    out[name] =
      err instanceof Error ? `${err.constructor.name}: ${err.message}` : `thrown: ${String(err)}`;
  }
}
console.log(JSON.stringify(out));
