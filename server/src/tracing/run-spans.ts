/**
 * The spans of runs, made from the events of this node's commits (as the metrics count them:
 * only what committed is traced, and each event is one node's, so each span is exported once
 * over the cluster):
 *
 * - `fire <handler>`: the scheduler firing a job, from the run's scheduled time to its first
 *   hand-out to a worker (its length is the fire's lateness), or to the run ending missed,
 *   skipped or cancelled before a worker took it. The trace's root.
 * - `run <handler>`: one attempt, from its hand-out to its recorded outcome (succeeded, failed,
 *   timed out, cancelled, or failed with a retry to follow). The fire span's child, and the
 *   parent named in the assignment's trace context, so the worker's handler span is its child.
 *
 * Spans are made with explicit times once their end is recorded; their ids are derived from
 * the run (ids.ts), so an attempt handed out by one node and ended through another is one
 * trace. The node that handed an attempt out remembers its start; one that records the outcome
 * of an attempt another node handed out (its worker reconnected, its lease expired) does not
 * know it, and starts the span at its end (`metronome.run.start_unknown`).
 */
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Tracer,
} from "@opentelemetry/api";
import type { EventDraft } from "../domain/events.js";
import { shown } from "../lib/envelope.js";
import { fireSpanIdOf, runSpanIdOf, traceIdOf } from "./ids.js";

/** Chooses the ids of the next span the tracer starts (tracing/sdk.ts). */
export interface SpanIds {
  choose(traceId: string, spanId: string): void;
}

/** An event about a run. */
type RunEvent = EventDraft & { readonly runId: string; readonly scheduler: string };

function isRunEvent(e: EventDraft): e is RunEvent {
  return e.runId !== null && e.scheduler !== null;
}

/** Attempts whose start is remembered at most (the oldest are forgotten first). */
const STARTS_KEPT = 100_000;

interface Start {
  readonly time: number;
  readonly workerId: string | undefined;
}

export class RunSpans {
  /** When each attempt was handed out (`runId/attempt`), until its outcome is recorded. */
  private readonly starts = new Map<string, Start>();

  constructor(
    private readonly tracer: Tracer,
    private readonly ids: SpanIds,
    private readonly nodeId: string,
  ) {}

  /** Call with the events of each of the node's commits (any node's events are understood). */
  observeEvents(batch: readonly EventDraft[]): void {
    for (const e of batch) {
      if (!isRunEvent(e)) continue;
      const mine = e.data.nodeId === this.nodeId;
      switch (e.type) {
        case "job_submitted":
          this.submitted(e, mine);
          break;
        case "job_executed":
        case "job_error":
          if (mine) this.runEnded(e);
          else this.forget(e);
          break;
        case "run_cancelled":
          // Handed out (here, or by another node: a worker is named): its attempt ends.
          if (this.starts.has(key(e.runId, e.data.attempt ?? 1)) || e.data.workerId !== undefined) {
            if (mine) this.runEnded(e);
            else this.forget(e);
          } else if (mine && (e.data.attempt ?? 1) === 1) this.fire(e, e.time, "cancelled");
          break;
        case "job_missed":
          if (mine) this.fire(e, e.time, "missed");
          break;
        case "job_max_instances":
          if (mine) this.fire(e, e.time, "skipped");
          break;
        default:
          break;
      }
    }
  }

  private submitted(e: RunEvent, mine: boolean): void {
    const attempt = e.data.attempt ?? 1;
    const scheduled = e.data.scheduledTime ?? e.time;
    // A run handed out ahead of its time starts at its time.
    const time = attempt === 1 ? Math.max(e.time, scheduled) : e.time;
    if (this.starts.size >= STARTS_KEPT) {
      const oldest = this.starts.keys().next().value;
      if (oldest !== undefined) this.starts.delete(oldest);
    }
    this.starts.set(key(e.runId, attempt), { time, workerId: e.data.workerId });
    if (mine && attempt === 1) this.fire(e, time, "submitted");
  }

  /** The fire span: from the scheduled time to `end`. */
  private fire(e: RunEvent, end: number, outcome: string): void {
    const scheduled = e.data.scheduledTime ?? end;
    const start = Math.min(scheduled, end);
    const attributes: Attributes = {
      ...this.common(e),
      "metronome.scheduled_time": new Date(scheduled).toISOString(),
      "metronome.fire.outcome": outcome,
    };
    if (outcome === "submitted") attributes["metronome.lateness_ms"] = end - start;
    if (e.data.reason !== undefined) attributes["metronome.reason"] = e.data.reason;
    this.ids.choose(traceIdOf(e.runId), fireSpanIdOf(e.runId));
    const span = this.tracer.startSpan(
      `fire ${e.handler ?? ""}`,
      { root: true, startTime: start, attributes },
      ROOT_CONTEXT,
    );
    if (outcome === "missed")
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.data.reason ?? "missed" });
    span.end(end);
  }

  /** An attempt's outcome was recorded: its run span, from its hand-out to now. */
  private runEnded(e: RunEvent): void {
    const attempt = e.data.attempt ?? 1;
    const k = key(e.runId, attempt);
    const start = this.starts.get(k);
    this.starts.delete(k);
    const traceId = traceIdOf(e.runId);
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: fireSpanIdOf(e.runId),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const status = e.data.runStatus ?? "unknown";
    const attributes: Attributes = {
      ...this.common(e),
      "metronome.run.attempt": attempt,
      // pending: the attempt failed and a retry follows.
      "metronome.run.status": status === "pending" ? "failed" : status,
      "metronome.run.retry": status === "pending",
    };
    const workerId = e.data.workerId ?? start?.workerId;
    if (workerId !== undefined) attributes["metronome.worker.id"] = workerId;
    if (start === undefined) attributes["metronome.run.start_unknown"] = true;
    this.ids.choose(traceId, runSpanIdOf(e.runId, attempt));
    const span = this.tracer.startSpan(
      `run ${e.handler ?? ""}`,
      { startTime: Math.min(start?.time ?? e.time, e.time), attributes },
      parent,
    );
    if (e.data.error !== undefined)
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: `${e.data.error.type}: ${shown(e.data.error.message)}`.slice(0, 500),
      });
    else if (status !== "succeeded")
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.data.reason ?? status });
    span.end(e.time);
  }

  /** Another node recorded the attempt's outcome (and its span). */
  private forget(e: RunEvent): void {
    this.starts.delete(key(e.runId, e.data.attempt ?? 1));
  }

  private common(e: RunEvent): Attributes {
    const a: Attributes = {
      "metronome.scheduler": e.scheduler,
      "metronome.job.id": e.jobId ?? "",
      "metronome.handler": e.handler ?? "",
      "metronome.run.id": e.runId,
      "metronome.node.id": this.nodeId,
    };
    if (e.data.manual === true) a["metronome.manual"] = true;
    return a;
  }
}

function key(runId: string, attempt: number): string {
  return `${runId}/${String(attempt)}`;
}
