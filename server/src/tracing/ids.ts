/**
 * A run's trace and span ids, derived from its id: every node computes the same ones, so the
 * fire span (recorded where the run was first handed out), each attempt's run span (recorded
 * where its outcome was recorded) and the trace context sent to the worker agree without
 * storing anything. One trace per run: its fire span is the root, each attempt's run span its
 * child, and the worker's handler span the run span's child.
 */
import { createHash } from "node:crypto";

function digest(...parts: readonly string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex");
}

/** The run's trace id (32 hex digits). */
export function traceIdOf(runId: string): string {
  return digest("metronome.trace", runId).slice(0, 32);
}

/** The span id of the run's fire span (16 hex digits). */
export function fireSpanIdOf(runId: string): string {
  return digest("metronome.fire", runId).slice(0, 16);
}

/** The span id of one attempt's run span (16 hex digits). */
export function runSpanIdOf(runId: string, attempt: number): string {
  return digest("metronome.run", runId, String(attempt)).slice(0, 16);
}

/**
 * The W3C trace context sent with an attempt's assignment: its parent is the attempt's run
 * span, sampled (the server records every run: sample in the collector).
 */
export function traceContextOf(runId: string, attempt: number): Record<string, string> {
  return { traceparent: `00-${traceIdOf(runId)}-${runSpanIdOf(runId, attempt)}-01` };
}
