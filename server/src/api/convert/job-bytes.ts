/**
 * A job as the binary Job message, written field by field: the same bytes protobuf-es's
 * `toBinary` writes for `jobToProto(job, workerCount)` (jobs.ts), without the reflection
 * (test/unit/job-bytes.test.ts compares them on generated jobs of every trigger kind). Converting
 * and encoding a job reflectively cost ~31–48 µs a GetJob answer, by hand ~11–12 µs
 * (`npm run -s bench -- answers`; docs/benchmarks.md, fourteenth session).
 *
 * One difference, by design: a kwargs (or args object) key `__proto__` (which kwargs_json can
 * carry) is written as any other key, as the worker's assignments write it; protobuf-es's
 * reflective encoder, which builds the Struct's map as a plain object, drops it, so a JSON answer
 * has it in `kwargs_json` only (test/unit/job-bytes.test.ts).
 *
 * The bytes ride as the response's unknown field 1 (`job`, or the repeated `jobs` of a listing),
 * which the binary serializer writes as they are (as session-responses.ts does for a worker's
 * assignments). The JSON codec drops unknown fields: a call in JSON gets converted messages.
 */
import type { Message, UnknownField } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Job, RetryPolicy } from "../../domain/jobs.js";
import type { TriggerSpec } from "../../domain/triggers/index.js";
import {
  LD,
  VARINT,
  writeDouble,
  writeListField,
  writeString,
  writeStructField,
  writeTimeField,
} from "./wire.js";
import { MAX_PAGE_BYTES } from "./paging.js";
import { WireWriter } from "./wire-writer.js";
import { secondsDuration } from "./time.js";

/** CronTrigger's optional string fields by number, as CronFields names them. */
const CRON_FIELDS = [
  [1, "year"],
  [2, "month"],
  [3, "day"],
  [4, "week"],
  [5, "day_of_week"],
  [6, "hour"],
  [7, "minute"],
  [8, "second"],
] as const;

/** An optional Timestamp field: written for a finite instant (optionalTs in time.ts). */
function writeOptionalTs(w: WireWriter, no: number, ms: number | null | undefined): void {
  if (ms !== null && ms !== undefined && Number.isFinite(ms))
    writeTimeField(w, no, timestampFromMs(ms));
}

/** A Trigger's fields for `spec` (the oneof `kind`, then `jitter`), as triggerToProto builds it. */
function writeTrigger(w: WireWriter, spec: TriggerSpec): void {
  switch (spec.type) {
    case "cron":
      w.tag(1, LD).fork();
      for (const [no, name] of CRON_FIELDS) {
        const v = spec.fields[name];
        if (v !== undefined) w.tag(no, LD).string(String(v));
      }
      writeString(w, 9, spec.timezone);
      writeOptionalTs(w, 10, spec.startDate);
      writeOptionalTs(w, 11, spec.endDate);
      w.join();
      break;
    case "crontab":
      w.tag(2, LD).fork();
      writeString(w, 1, spec.expression);
      writeString(w, 2, spec.timezone);
      writeOptionalTs(w, 3, spec.startDate);
      writeOptionalTs(w, 4, spec.endDate);
      w.join();
      break;
    case "interval":
      w.tag(3, LD).fork();
      writeDouble(w, 1, spec.weeks ?? 0);
      writeDouble(w, 2, spec.days ?? 0);
      writeDouble(w, 3, spec.hours ?? 0);
      writeDouble(w, 4, spec.minutes ?? 0);
      writeDouble(w, 5, spec.seconds ?? 0);
      writeOptionalTs(w, 6, spec.startDate);
      writeOptionalTs(w, 7, spec.endDate);
      writeString(w, 8, spec.timezone);
      w.join();
      break;
    case "date":
      w.tag(4, LD).fork();
      writeTimeField(w, 1, timestampFromMs(spec.runDate));
      writeString(w, 2, spec.timezone);
      w.join();
      break;
    case "and":
    case "or":
      // all_of (5) or any_of (6): a TriggerList, its `triggers` (1).
      w.tag(spec.type === "and" ? 5 : 6, LD).fork();
      for (const t of spec.triggers) {
        w.tag(1, LD).fork();
        writeTrigger(w, t);
        w.join();
      }
      w.join();
      break;
  }
  if (spec.jitter) writeTimeField(w, 7, secondsDuration(spec.jitter));
}

/** A RetryPolicy's fields. */
function writeRetry(w: WireWriter, r: RetryPolicy): void {
  if (r.maxAttempts !== 0) w.tag(1, VARINT).int32(r.maxAttempts);
  writeTimeField(w, 2, durationFromMs(r.initialBackoffMs));
  writeTimeField(w, 3, durationFromMs(r.maxBackoffMs));
  writeDouble(w, 4, r.multiplier);
}

/** A Job's fields, in field-number order (as the reflective encoder writes them). */
function writeJob(w: WireWriter, j: Job, workerCount: number | undefined): void {
  writeString(w, 1, j.id);
  writeString(w, 2, j.scheduler);
  writeString(w, 3, j.name);
  writeString(w, 4, j.handler);
  w.tag(5, LD).fork();
  writeTrigger(w, j.trigger);
  w.join();
  // 6: args (ListValue), 7: kwargs (Struct): always present, empty or not.
  writeListField(w, 6, j.args);
  writeStructField(w, 7, j.kwargs);
  // 8, 9: optional (explicit presence): written whatever their value.
  w.tag(8, VARINT).bool(j.coalesce);
  w.tag(9, VARINT).int32(j.maxInstances);
  // 10: misfire_grace_time: a duration (1) or no_limit (2).
  w.tag(10, LD).fork();
  if (j.misfireGraceTimeMs === null) w.tag(2, VARINT).bool(true);
  else writeTimeField(w, 1, durationFromMs(j.misfireGraceTimeMs));
  w.join();
  if (j.timeoutMs !== null) writeTimeField(w, 11, durationFromMs(j.timeoutMs));
  if (j.retry !== null) {
    w.tag(12, LD).fork();
    writeRetry(w, j.retry);
    w.join();
  }
  if (j.paused) w.tag(13, VARINT).bool(true);
  writeOptionalTs(w, 14, j.nextRunTime);
  writeTimeField(w, 15, timestampFromMs(j.createdAt));
  writeTimeField(w, 16, timestampFromMs(j.updatedAt));
  if (j.version !== 0) w.tag(17, VARINT).int64(BigInt(j.version));
  if (workerCount !== undefined) w.tag(18, VARINT).int32(workerCount);
  writeString(w, 19, JSON.stringify(j.args));
  writeString(w, 20, JSON.stringify(j.kwargs));
  writeString(w, 21, j.modifiedBy ?? "");
}

/** A job as answered (`workerCount`: the worker sessions serving its handler, when counted). */
export interface AnsweredJob {
  readonly job: Job;
  readonly workerCount: number | undefined;
}

/** The binary Job message of an answered job: toBinary(JobSchema, jobToProto(job, count)). */
export function jobBytes(a: AnsweredJob): Uint8Array {
  const w = new WireWriter();
  writeJob(w, a.job, a.workerCount);
  return w.finish();
}

/**
 * `message` (a response of a binary call) with `jobs` as its field 1 (`job`, or the repeated
 * `jobs`), pre-encoded; its own field 1 must be unset. (An unknown length-delimited field's data
 * is its length and then its bytes; the serializer writes the tag.) The serializer writes unknown
 * fields after the known ones: field order is free on the wire, and every decoder accepts it.
 */
export function withEncodedJobs<M extends Message>(message: M, jobs: readonly AnsweredJob[]): M {
  message.$unknown = jobs.map(jobEntry);
  return message;
}

/** A job as an entry of field 1: the unknown field whose data is its length and its bytes. */
function jobEntry(a: AnsweredJob): UnknownField {
  const w = new WireWriter();
  w.fork();
  writeJob(w, a.job, a.workerCount);
  w.join();
  return { no: 1, wireType: LD, data: w.finish() };
}

/**
 * The first jobs of a page that fit in `maxBytes` (at least one), encoded as the entries of
 * field 1 (`jobs`) of a binary answer: a page may hold fewer jobs than asked for, and the next
 * page continues after the last one answered. A JSON answer is cut where the binary one would
 * be (its jobs take about as many bytes).
 */
export function pageEntries(
  jobs: readonly AnsweredJob[],
  maxBytes = MAX_PAGE_BYTES,
): UnknownField[] {
  const entries: UnknownField[] = [];
  let bytes = 0;
  for (const a of jobs) {
    const entry = jobEntry(a);
    // The field's tag (one byte) and its data.
    bytes += 1 + entry.data.length;
    if (entries.length > 0 && bytes > maxBytes) break;
    entries.push(entry);
  }
  return entries;
}
