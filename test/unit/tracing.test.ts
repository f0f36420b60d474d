/**
 * The spans a node makes of the events it commits (server/src/tracing/run-spans.ts) on a real
 * tracer provider with an in-memory exporter, the ids they share with the trace context sent
 * to workers, when tracing is on, and the SDK's reading of that context.
 */
import { SpanStatusCode, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import type { EventData, EventDraft, EventType } from "../../server/src/domain/events.js";
import { ChosenIds } from "../../server/src/tracing/chosen-ids.js";
import {
  fireSpanIdOf,
  runSpanIdOf,
  traceContextOf,
  traceIdOf,
} from "../../server/src/tracing/ids.js";
import { RunSpans } from "../../server/src/tracing/run-spans.js";
import { tracingWanted } from "../../server/src/tracing/tracing.js";
import { parentContext } from "../../sdk/src/worker/tracing.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

function event(type: EventType, runId: string, time: number, data: Partial<EventData>): EventDraft {
  return {
    type,
    time,
    scheduler: "default",
    jobId: "job-1",
    runId,
    handler: "h.one",
    data: { nodeId: "node-a", ...data },
  };
}

describe("run spans", () => {
  let exporter = new InMemorySpanExporter();
  const providers: BasicTracerProvider[] = [];
  const spansOf = (nodeId: string): RunSpans => {
    const ids = new ChosenIds();
    const provider = new BasicTracerProvider({
      idGenerator: ids,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    providers.push(provider);
    return new RunSpans(provider.getTracer("test"), ids, nodeId);
  };
  const finished = (name: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((s) => s.name === name);
  const ms = (t: ReadableSpan["startTime"]): number => t[0] * 1000 + Math.round(t[1] / 1e6);

  afterEach(async () => {
    // Shutting a provider down shuts its exporter down: each test has its own.
    for (const p of providers.splice(0)) await p.shutdown();
    exporter = new InMemorySpanExporter();
  });

  it("makes a late fire and its attempt one trace with the ids the worker is sent", () => {
    const spans = spansOf("node-a");
    spans.observeEvents([
      event("job_submitted", "run-1", T0 + 300, {
        scheduledTime: T0,
        attempt: 1,
        workerId: "w1",
        runStatus: "running",
      }),
      event("job_executed", "run-1", T0 + 900, { attempt: 1, runStatus: "succeeded" }),
    ]);
    const [fire] = finished("fire h.one");
    const [run] = finished("run h.one");
    if (!fire || !run) throw new Error("missing spans");
    expect(fire.spanContext().traceId).toBe(traceIdOf("run-1"));
    expect(fire.spanContext().spanId).toBe(fireSpanIdOf("run-1"));
    expect(fire.parentSpanContext).toBeUndefined();
    expect([ms(fire.startTime), ms(fire.endTime)]).toEqual([T0, T0 + 300]);
    expect(fire.attributes["metronome.lateness_ms"]).toBe(300);
    expect(fire.attributes["metronome.scheduled_time"]).toBe("2026-01-01T00:00:00.000Z");
    expect(run.spanContext().traceId).toBe(traceIdOf("run-1"));
    expect(run.parentSpanContext?.spanId).toBe(fireSpanIdOf("run-1"));
    expect([ms(run.startTime), ms(run.endTime)]).toEqual([T0 + 300, T0 + 900]);
    expect(run.attributes).toMatchObject({
      "metronome.run.status": "succeeded",
      "metronome.worker.id": "w1",
      "metronome.run.attempt": 1,
    });
    // The worker is told the run span as its parent.
    expect(traceContextOf("run-1", 1).traceparent).toBe(
      `00-${traceIdOf("run-1")}-${run.spanContext().spanId}-01`,
    );
  });

  it("starts an attempt handed out ahead at its time: the fire is not late", () => {
    spansOf("node-a").observeEvents([
      event("job_submitted", "run-2", T0 - 400, { scheduledTime: T0, attempt: 1 }),
      event("job_executed", "run-2", T0 + 50, { attempt: 1, runStatus: "succeeded" }),
    ]);
    const [fire] = finished("fire h.one");
    const [run] = finished("run h.one");
    expect(fire?.attributes["metronome.lateness_ms"]).toBe(0);
    expect(run && ms(run.startTime)).toBe(T0);
  });

  it("records each span once over the cluster: the node that committed its event", () => {
    const a = spansOf("node-a");
    const b = spansOf("node-b");
    // Handed out by node-a; its failure (a retry follows) recorded through node-b, where its
    // worker reconnected: each node sees the events of its own commits.
    a.observeEvents([event("job_submitted", "run-3", T0, { scheduledTime: T0, attempt: 1 })]);
    const error = { type: "Boom", message: "it broke", stack: "", nonRetryable: false };
    b.observeEvents([
      {
        ...event("job_error", "run-3", T0 + 200, {}),
        data: { nodeId: "node-b", attempt: 1, runStatus: "pending", error },
      },
    ]);
    expect(finished("fire h.one")).toHaveLength(1);
    const runs = finished("run h.one");
    expect(runs).toHaveLength(1);
    const [run] = runs;
    // One trace: node-b derives the same ids; it does not know the attempt's start.
    expect(run?.spanContext().traceId).toBe(traceIdOf("run-3"));
    expect(run?.spanContext().spanId).toBe(runSpanIdOf("run-3", 1));
    expect(run?.parentSpanContext?.spanId).toBe(fireSpanIdOf("run-3"));
    expect(run && ms(run.startTime)).toBe(T0 + 200);
    expect(run?.attributes["metronome.run.start_unknown"]).toBe(true);
    expect(run?.status).toEqual({ code: SpanStatusCode.ERROR, message: "Boom: it broke" });
    expect(run?.attributes["metronome.run.retry"]).toBe(true);
  });

  it("makes a fire span alone for a run missed, skipped or cancelled before any hand-out", () => {
    spansOf("node-a").observeEvents([
      event("job_missed", "run-4", T0 + 5000, { scheduledTime: T0, reason: "grace ran out" }),
      event("job_max_instances", "run-5", T0, { scheduledTime: T0 }),
      event("run_cancelled", "run-6", T0 + 10, { scheduledTime: T0, attempt: 1 }),
    ]);
    const fires = finished("fire h.one");
    expect(fires.map((s) => s.attributes["metronome.fire.outcome"])).toEqual([
      "missed",
      "skipped",
      "cancelled",
    ]);
    expect(fires[0]?.status.code).toBe(SpanStatusCode.ERROR);
    expect(finished("run h.one")).toEqual([]);
  });
});

describe("tracing", () => {
  it("is on when an OTLP endpoint is set, unless the SDK or the exporter is disabled", () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "" })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toBe(
      true,
    );
    expect(
      tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }),
    ).toBe(false);
    expect(
      tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }),
    ).toBe(false);
  });

  it("is read by the SDK's worker from the assignment's traceparent", () => {
    const ctx = parentContext(traceContextOf("run-9", 2));
    expect(trace.getSpanContext(ctx)).toMatchObject({
      traceId: traceIdOf("run-9"),
      spanId: runSpanIdOf("run-9", 2),
      traceFlags: 1,
      isRemote: true,
    });
    expect(trace.getSpanContext(parentContext({}))).toBeUndefined();
    expect(trace.getSpanContext(parentContext({ traceparent: "00-zz-yy-01" }))).toBeUndefined();
    expect(
      trace.getSpanContext(
        parentContext({ traceparent: `00-${"0".repeat(32)}-${"1".repeat(16)}-01` }),
      ),
    ).toBeUndefined();
  });
});
