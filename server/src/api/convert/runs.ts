/** Run messages, run statuses and run errors. */
import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../../domain/errors.js";
import type { Run, RunError, RunStatus } from "../../domain/runs.js";
import {
  RunErrorSchema,
  RunSchema,
  RunStatus as PbRunStatus,
  type Run as PbRun,
  type RunError as PbRunError,
} from "../../gen/metronome/v1/run_pb.js";
import { optionalTs, ts } from "./time.js";

const RUN_STATUS_TO_PROTO: Record<RunStatus, PbRunStatus> = {
  pending: PbRunStatus.PENDING,
  running: PbRunStatus.RUNNING,
  succeeded: PbRunStatus.SUCCEEDED,
  failed: PbRunStatus.FAILED,
  timed_out: PbRunStatus.TIMED_OUT,
  cancelled: PbRunStatus.CANCELLED,
  missed: PbRunStatus.MISSED,
  skipped: PbRunStatus.SKIPPED,
};

export function runStatusToProto(s: RunStatus): PbRunStatus {
  return RUN_STATUS_TO_PROTO[s];
}

export function runStatusFromProto(s: PbRunStatus, field: string): RunStatus {
  const found = (Object.entries(RUN_STATUS_TO_PROTO) as [RunStatus, PbRunStatus][]).find(
    ([, v]) => v === s,
  );
  if (found === undefined) throw new InvalidArgumentError(field, "must be a run status");
  return found[0];
}

export function runErrorToProto(e: RunError): PbRunError {
  return create(RunErrorSchema, {
    message: e.message,
    type: e.type,
    stack: e.stack,
    nonRetryable: e.nonRetryable,
  });
}

export function runToProto(r: Run): PbRun {
  return create(RunSchema, {
    runId: r.id,
    jobId: r.jobId,
    scheduler: r.scheduler,
    handler: r.handler,
    scheduledTime: ts(r.scheduledTime),
    fireTime: ts(r.fireTime),
    attempt: r.attempt,
    status: runStatusToProto(r.status),
    statusReason: r.statusReason,
    manual: r.manual,
    workerId: r.workerId ?? "",
    createdAt: ts(r.createdAt),
    startedAt: optionalTs(r.startedAt),
    finishedAt: optionalTs(r.finishedAt),
    retryAt: r.status === "pending" && r.attempt > 1 ? optionalTs(r.dueAt) : undefined,
    result: r.status === "succeeded" ? fromJson(ValueSchema, r.result ?? null) : undefined,
    resultJson: r.status === "succeeded" ? JSON.stringify(r.result ?? null) : "",
    triggeredBy: r.triggeredBy ?? "",
    error: r.error === null ? undefined : runErrorToProto(r.error),
  });
}
