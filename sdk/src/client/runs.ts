/** Runs as the SDK shows them (`scheduler.runJob`, `getRuns`, `cancelRun`). */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { JsonValue } from "@bufbuild/protobuf";
import type { Run as PbRun } from "../gen/metronome/v1/run_pb.js";
import { runStatusName, type RunStatusName } from "./run-status.js";

/**
 * A run of a job. A run is named `runId` everywhere in the SDK (here, in `RunEvent`,
 * `RunContext`, `cancelRun(runId)`), as in the API's `Run.run_id`.
 */
export interface Run {
  readonly runId: string;
  /**
   * The same as `runId` (not enumerable: spreads and JSON leave it out).
   * @deprecated Use `runId`; `id` will be removed.
   */
  readonly id: string;
  readonly jobId: string;
  readonly scheduler: string;
  readonly handler: string;
  /** The nominal fire time (a manual run's: when it was requested). */
  readonly scheduledTime: Date;
  readonly manual: boolean;
  readonly attempt: number;
  /** "unknown": a status this SDK does not know (from a newer server). */
  readonly status: RunStatusName | "unknown";
  /** Why it was missed, skipped, retried or cancelled. */
  readonly statusReason: string;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** The handler's return value (succeeded runs). */
  readonly result: JsonValue | undefined;
  readonly error: { readonly message: string; readonly type: string } | null;
}

const date = (t: Timestamp | undefined): Date | null => (t === undefined ? null : timestampDate(t));

export function runFromProto(r: PbRun): Run {
  const run = {
    runId: r.runId,
    jobId: r.jobId,
    scheduler: r.scheduler,
    handler: r.handler,
    scheduledTime: date(r.scheduledTime) ?? new Date(0),
    manual: r.manual,
    attempt: r.attempt,
    status: runStatusName(r.status) ?? "unknown",
    statusReason: r.statusReason,
    startedAt: date(r.startedAt),
    finishedAt: date(r.finishedAt),
    result: r.result === undefined ? undefined : toJson(ValueSchema, r.result),
    error: r.error === undefined ? null : { message: r.error.message, type: r.error.type },
  };
  return Object.defineProperty(run, "id", { get: () => run.runId, enumerable: false }) as Run;
}
