/**
 * Results: a handler's outcome as the RunResult message for its lease, and the outbox, which
 * keeps every result until the server answers it (RunResultAccepted or RunResultRejected). A
 * result whose answer was lost with the stream is sent again in the next session; the server
 * accepts a repeated result for a lease.
 */
import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  RunResultSchema,
  type RunLease,
  type RunResult,
} from "../gen/metronome/v1/worker_service_pb.js";
import type { ErrorReport, Outcome } from "../outcome.js";
import { leaseKey } from "./leases.js";

/**
 * The RunResult of an outcome. A value goes as `result_json` (its JSON text, already made to
 * check its size): integers stay exact, and it costs a fraction of building a `Value` tree.
 */
export function resultOf(lease: RunLease, outcome: Outcome): RunResult {
  if (!outcome.ok) return errorResult(lease, outcome.error);
  return create(RunResultSchema, {
    lease,
    outcome: {
      case: "success",
      value:
        outcome.value === undefined
          ? {}
          : outcome.json !== undefined
            ? { resultJson: outcome.json }
            : { result: fromJson(ValueSchema, outcome.value) },
    },
  });
}

export function errorResult(lease: RunLease, report: ErrorReport): RunResult {
  return create(RunResultSchema, { lease, outcome: { case: "error", value: report } });
}

/** Results not answered yet, by lease. */
export class Outbox {
  private readonly results = new Map<string, RunResult>();

  constructor(
    /** Sends a result now if a welcomed session is open (otherwise the next welcome does). */
    private readonly send: (result: RunResult) => void,
  ) {}

  get size(): number {
    return this.results.size;
  }

  /** Keeps `result` until answered and sends it. */
  report(key: string, result: RunResult): void {
    this.results.set(key, result);
    this.send(result);
  }

  has(key: string): boolean {
    return this.results.has(key);
  }

  /** Forgets the result of a lease (answered, or no longer worth sending); true if it was kept. */
  forget(lease: RunLease): boolean {
    return this.results.delete(leaseKey(lease));
  }

  /** Every result kept, to send again after a welcome. */
  all(): IterableIterator<RunResult> {
    return this.results.values();
  }

  /** The runs of the results kept (for a log line). */
  runIds(): (string | undefined)[] {
    return [...this.results.values()].map((r) => r.lease?.runId);
  }
}
