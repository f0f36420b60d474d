/**
 * Whether a node exports OpenTelemetry traces, and what the rest of the node sees of them. The
 * SDK itself (sdk.ts) is imported only when tracing is on (start.ts), so a node that does not
 * trace loads none of it and its hot path makes no spans.
 */
import type { EventDraft } from "../domain/events.js";

/** A node's tracing, as the composition root wires it. */
export interface NodeTracing {
  /** Call with the events of each of the node's commits: the fire and run spans. */
  observeEvents(batch: readonly EventDraft[]): void;
  /** The trace context sent with an attempt's assignment (`traceparent`). */
  readonly traceContext: (runId: string, attempt: number) => Record<string, string>;
  /** Exports the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Traces are exported when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, or the
 * traces-only OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none.
 */
export function tracingWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  const endpoint =
    (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? "") !== "" ||
    (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "") !== "";
  if (!endpoint) return false;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  return env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() !== "none";
}
