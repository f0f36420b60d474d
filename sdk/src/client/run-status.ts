/** Run statuses by name, as the SDK shows them, and their API values. */
import { RunStatus } from "../gen/metronome/v1/run_pb.js";

export type RunStatusName =
  "pending" | "running" | "succeeded" | "failed" | "timed_out" | "cancelled" | "missed" | "skipped";

/** The API value of each status name. */
export const RUN_STATUS: Readonly<Record<RunStatusName, RunStatus>> = {
  pending: RunStatus.PENDING,
  running: RunStatus.RUNNING,
  succeeded: RunStatus.SUCCEEDED,
  failed: RunStatus.FAILED,
  timed_out: RunStatus.TIMED_OUT,
  cancelled: RunStatus.CANCELLED,
  missed: RunStatus.MISSED,
  skipped: RunStatus.SKIPPED,
};

const NAMES = new Map<RunStatus, RunStatusName>(
  (Object.entries(RUN_STATUS) as [RunStatusName, RunStatus][]).map(([n, s]) => [s, n]),
);

/** The name of an API status; undefined for one this SDK does not know (or unset). */
export function runStatusName(status: RunStatus): RunStatusName | undefined {
  return NAMES.get(status);
}
