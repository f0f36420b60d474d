/** The log lines of runs whose attempt ended, written by whichever part recorded the end. */
import type { Run } from "../domain/runs.js";
import type { Logger } from "../logger.js";
import { shown } from "../lib/envelope.js";

/** One line per recorded outcome of an attempt: info when it succeeded, warn otherwise. */
export function logOutcome(log: Logger, r: Run): void {
  const retry = r.status === "pending";
  const fields = {
    runId: r.id,
    scheduler: r.scheduler,
    jobId: r.jobId,
    handler: r.handler,
    // A retry is the next attempt: the line is about the one that ended.
    attempt: retry ? r.attempt - 1 : r.attempt,
    worker: r.workerId,
    ms: r.startedAt === null || r.updatedAt < r.startedAt ? undefined : r.updatedAt - r.startedAt,
  };
  const error =
    r.error === null ? undefined : oneLine(`${r.error.type}: ${shown(r.error.message)}`);
  switch (r.status) {
    case "succeeded":
      log.info(fields, "run succeeded");
      return;
    case "pending":
      log.warn(
        { ...fields, error, retryAt: r.dueAt === null ? undefined : new Date(r.dueAt) },
        "run failed; retrying",
      );
      return;
    case "failed":
      log.warn({ ...fields, error }, "run failed");
      return;
    case "timed_out":
      log.warn(fields, "run timed out");
      return;
    default:
      return;
  }
}

/** The first line of `text`, at most 200 characters: a log line stays one line. */
function oneLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
