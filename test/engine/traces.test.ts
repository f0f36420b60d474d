/**
 * OpenTelemetry traces end to end: a `metronome serve` process on MariaDB with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointed at a tiny OTLP/HTTP receiver (test/support/otlp-receiver),
 * and an SDK worker in this process whose service has its own tracer provider exporting to the
 * same receiver. A job fires: its fire span, its run span, the SDK's handler span and the span
 * the handler makes share one trace, each the child of the one before. A failing handler's run
 * span is an error.
 */
import { NonRetryableError, Worker, MetronomeClient } from "@metronome/sdk";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

describeMysql("traces of a fire, its run and its handler", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let receiver: OtlpReceiver | undefined;
  let server: ServerProcess | undefined;
  let worker: Worker | undefined;
  let client: MetronomeClient | undefined;
  let provider: BasicTracerProvider | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await OtlpReceiver.start();
    server = await startServerProcess("traced-node", db.url, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_SERVICE_NAME: "metronome-under-test",
        OTEL_BSP_SCHEDULE_DELAY: "50",
        METRONOME_POLL_INTERVAL: "0.1",
      },
    });
    // The service's own OpenTelemetry set-up, as a service would make it.
    provider = new BasicTracerProvider({
      spanProcessors: [
        new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${receiver.endpoint}/v1/traces` })),
      ],
    });
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

    const url = `http://127.0.0.1:${String(server.port)}`;
    client = new MetronomeClient({ baseUrl: url, logger: quiet });
    worker = new Worker({ baseUrl: url, workerId: "traced-worker", logger: quiet });
    worker.register("t.traced", async () => {
      const tracer = trace.getTracer("the-service");
      return tracer.startActiveSpan("the handler's own work", async (span) => {
        await Promise.resolve();
        span.end();
        return "done";
      });
    });
    worker.register("t.failing", () => {
      throw new NonRetryableError("the handler gave up");
    });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await worker?.stop();
    await server?.stop();
    await provider?.shutdown();
    trace.disable();
    context.disable();
    await receiver?.close();
    await db?.drop();
  }, 40_000);

  const one = (spans: readonly ReceivedSpan[], name: string, traceId?: string) =>
    spans.find((s) => s.name === name && (traceId === undefined || s.traceId === traceId));

  it("joins the fire span, the run span, the handler's span and its children in one trace", async () => {
    const c = client as MetronomeClient;
    const r = receiver as OtlpReceiver;
    await c.jobs.addJob({
      job: {
        id: "traced-job",
        handler: "t.traced",
        trigger: { kind: { case: "interval", value: { seconds: 1 } } },
      },
    });
    // The first run whose four spans have all arrived.
    const [fire, run, handler, own] = await r.until((spans) => {
      for (const f of spans.filter((s) => s.name === "fire t.traced")) {
        const group = [
          f,
          one(spans, "run t.traced", f.traceId),
          one(spans, "handler t.traced", f.traceId),
          one(spans, "the handler's own work", f.traceId),
        ];
        if (group.every((s) => s !== undefined)) return group;
      }
      return undefined;
    });
    await c.jobs.removeJob({ scheduler: "default", jobId: "traced-job" });
    if (!fire || !run || !handler || !own) throw new Error("a span is missing");

    expect(r.errors).toEqual([]);
    // One trace: the fire span is its root, each span the child of the one before.
    expect(new Set([fire.traceId, run.traceId, handler.traceId, own.traceId]).size).toBe(1);
    expect(fire.parentSpanId).toBe("");
    expect(run.parentSpanId).toBe(fire.spanId);
    expect(handler.parentSpanId).toBe(run.spanId);
    expect(own.parentSpanId).toBe(handler.spanId);

    // The fire: scheduler, job, handler, scheduled time and lateness, from the server.
    expect(fire.resource["service.name"]).toBe("metronome-under-test");
    expect(fire.resource["service.instance.id"]).toBe("traced-node");
    expect(fire.attributes).toMatchObject({
      "metronome.scheduler": "default",
      "metronome.job.id": "traced-job",
      "metronome.handler": "t.traced",
      "metronome.fire.outcome": "submitted",
    });
    const scheduled = Date.parse(String(fire.attributes["metronome.scheduled_time"]));
    expect(fire.startMs).toBe(scheduled);
    expect(fire.attributes["metronome.lateness_ms"]).toBe(fire.endMs - fire.startMs);

    // The run: from the hand-out to the result, with its outcome.
    const runId = String(run.attributes["metronome.run.id"]);
    expect(runId).toMatch(/\S/);
    expect(fire.attributes["metronome.run.id"]).toBe(runId);
    expect(handler.attributes["metronome.run.id"]).toBe(runId);
    expect(run.attributes).toMatchObject({
      "metronome.run.attempt": 1,
      "metronome.run.status": "succeeded",
      "metronome.worker.id": "traced-worker",
    });
    expect(run.statusCode).not.toBe(2);
    expect(run.startMs).toBeGreaterThanOrEqual(fire.endMs);
    expect(run.endMs).toBeGreaterThanOrEqual(handler.endMs - 50); // clocks of two processes
    expect(handler.resource["service.name"]).not.toBe("metronome-under-test");
  }, 60_000);

  it("marks the run span of a failed attempt as an error, with the error", async () => {
    const c = client as MetronomeClient;
    await c.jobs.addJob({
      job: {
        id: "failing-job",
        handler: "t.failing",
        trigger: { kind: { case: "interval", value: { seconds: 1 } } },
      },
    });
    const [run, handler] = await (receiver as OtlpReceiver).until((spans) => {
      for (const r of spans.filter((s) => s.name === "run t.failing")) {
        const h = one(spans, "handler t.failing", r.traceId);
        if (h !== undefined) return [r, h] as const;
      }
      return undefined;
    });
    await c.jobs.removeJob({ scheduler: "default", jobId: "failing-job" });
    expect(run.statusCode).toBe(2);
    expect(run.statusMessage).toContain("the handler gave up");
    expect(run.attributes["metronome.run.status"]).toBe("failed");
    expect(handler.statusCode).toBe(2);
    expect(handler.parentSpanId).toBe(run.spanId);
  }, 60_000);
});
