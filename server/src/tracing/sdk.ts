/**
 * The OpenTelemetry SDK of a node that exports traces (OTEL_EXPORTER_OTLP_ENDPOINT is set): a
 * tracer provider whose spans go in batches to an OTLP/HTTP exporter (JSON bodies). The standard
 * OTEL_* variables configure the exporter (endpoint, headers, timeout), the batches
 * (OTEL_BSP_*) and the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). Every fire and
 * run is recorded (sampling belongs in the collector). The composition root imports this
 * module only when tracing is on: a node that does not trace never loads the SDK.
 */
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { Logger } from "../logger.js";
import { traceContextOf } from "./ids.js";
import { ChosenIds } from "./chosen-ids.js";
import { RunSpans } from "./run-spans.js";
import type { NodeTracing } from "./tracing.js";

export function startTracing(node: {
  readonly nodeId: string;
  readonly version: string;
  readonly log: Logger;
}): NodeTracing {
  const ids = new ChosenIds();
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: "metronome",
    [ATTR_SERVICE_VERSION]: node.version,
    "service.instance.id": node.nodeId,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    idGenerator: ids,
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const spans = new RunSpans(provider.getTracer("metronome", node.version), ids, node.nodeId);
  node.log.info("exporting OpenTelemetry traces (OTLP/HTTP)");
  return {
    observeEvents: (batch) => {
      try {
        spans.observeEvents(batch);
      } catch (err) {
        node.log.warn({ err }, "making spans failed");
      }
    },
    traceContext: traceContextOf,
    shutdown: () => provider.shutdown(),
  };
}
