/**
 * The handler's span. A server that exports OpenTelemetry traces sends each assignment with the
 * W3C trace context of its run span (`trace_context.traceparent`); the worker starts a
 * `handler <name>` span as its child and runs the handler with it active, so the spans the
 * handler makes join the run's trace. Only `@opentelemetry/api` is used: without an OpenTelemetry
 * SDK registered by the service the span is the API's no-op one, and nothing is recorded.
 */
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  trace,
  type Context,
  type Span,
} from "@opentelemetry/api";
import type { RunAssignment, RunLease, RunResult } from "../gen/metronome/v1/worker_service_pb.js";
import { SDK_VERSION } from "../version.js";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** The API's proxy tracer: it follows a tracer provider the service registers later. */
const tracer = trace.getTracer("@metronome/sdk", SDK_VERSION);

/** The run span named by an assignment's trace context, as a parent context (or none). */
export function parentContext(carrier: Readonly<Record<string, string>>): Context {
  const m = TRACEPARENT.exec(carrier.traceparent?.trim() ?? "");
  if (m === null) return ROOT_CONTEXT;
  const [, traceId = "", spanId = "", flags = "00"] = m;
  const spanContext = { traceId, spanId, traceFlags: parseInt(flags, 16) & 1, isRemote: true };
  if (!trace.isSpanContextValid(spanContext)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

/** A handler's span: `run` calls the handler with it active. */
export interface HandlerSpan {
  run<T>(fn: () => T): T;
  end(result: RunResult): void;
}

/**
 * The span of a run nothing traces: no SDK records it and it continues no trace, so the handler
 * is called as it is (setting the API's no-op span active would only copy a context per run).
 */
const UNTRACED: HandlerSpan = { run: (fn) => fn(), end: () => undefined };

/**
 * Starts the handler's span of an assignment, as a child of `parent` (parentContext of the
 * assignment's trace context, read when the assignment arrived).
 */
export function handlerSpan(a: RunAssignment, lease: RunLease, parent: Context): HandlerSpan {
  const span: Span = tracer.startSpan(`handler ${a.handler}`, undefined, parent);
  if (!span.isRecording() && !trace.isSpanContextValid(span.spanContext())) return UNTRACED;
  // Without an OpenTelemetry SDK the span records nothing: no attributes are made for it.
  if (span.isRecording())
    span.setAttributes({
      "metronome.scheduler": a.scheduler,
      "metronome.job.id": a.jobId,
      "metronome.handler": a.handler,
      "metronome.run.id": lease.runId,
      "metronome.run.attempt": lease.attempt,
    });
  const active = trace.setSpan(parent, span);
  return {
    run: (fn) => context.with(active, fn),
    end: (result) => {
      if (result.outcome.case === "error") {
        const { type, message } = result.outcome.value;
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: `${type}: ${message}`.slice(0, 500),
        });
      }
      span.end();
    },
  };
}
