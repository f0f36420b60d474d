/** The span ids of the node's tracer provider (part of the SDK: sdk.ts imports it). */
import { RandomIdGenerator, type IdGenerator } from "@opentelemetry/sdk-trace-base";
import type { SpanIds } from "./run-spans.js";

/**
 * Span ids chosen by the caller for the next span started (RunSpans derives them from the run);
 * random ones otherwise. `startSpan` asks for the ids synchronously, right after `choose`.
 */
export class ChosenIds implements IdGenerator, SpanIds {
  private readonly random = new RandomIdGenerator();
  private traceId: string | undefined;
  private spanId: string | undefined;

  choose(traceId: string, spanId: string): void {
    this.traceId = traceId;
    this.spanId = spanId;
  }

  generateTraceId(): string {
    const id = this.traceId ?? this.random.generateTraceId();
    this.traceId = undefined;
    return id;
  }

  generateSpanId(): string {
    const id = this.spanId ?? this.random.generateSpanId();
    this.spanId = undefined;
    return id;
  }
}
