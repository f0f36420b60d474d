/**
 * An event as the binary Event message, written field by field: the same bytes protobuf-es's
 * `toBinary` writes for `eventToProto(e)` (events.ts), without the reflection
 * (test/unit/event-bytes.test.ts compares them on generated events of every type). With 100
 * subscribers the server encodes every event once (event-responses.ts), but reflectively that was
 * still ~50 µs an event in a CPU profile of `bench events`, a tenth of a core at 2,000 events a
 * second on a node that also fires the jobs (docs/benchmarks.md, sixteenth session).
 *
 * As for jobs (job-bytes.ts), a key `__proto__` in a result object is written as any other key;
 * the reflective encoder drops it from `result` (result_json has it in both).
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { LoggedEvent } from "../../domain/events.js";
import type { RunError } from "../../domain/runs.js";
import { runStatusToProto } from "./runs.js";
import { typeToProto } from "./events.js";
import { LD, VARINT, writeString, writeTimeField, writeValueField } from "./wire.js";
import type { WireWriter } from "./wire-writer.js";

function writeRunError(w: WireWriter, e: RunError): void {
  w.tag(15, LD).fork();
  writeString(w, 1, e.message);
  writeString(w, 2, e.type);
  writeString(w, 3, e.stack);
  if (e.nonRetryable) w.tag(4, VARINT).bool(true);
  w.join();
}

/** An Event's fields, in field-number order (as the reflective encoder writes them). */
export function writeEvent(w: WireWriter, e: LoggedEvent): void {
  const d = e.data;
  if (e.cursor !== 0) w.tag(1, VARINT).int64(BigInt(e.cursor));
  // Every type has its enum member, none of them 0 (events.ts checks the proto at load).
  w.tag(2, VARINT).int32(typeToProto(e.type));
  writeTimeField(w, 3, timestampFromMs(e.time));
  writeString(w, 4, e.scheduler ?? "");
  writeString(w, 5, e.jobId ?? "");
  writeString(w, 6, e.runId ?? "");
  writeString(w, 7, e.handler ?? "");
  writeString(w, 8, d.nodeId);
  writeString(w, 9, d.workerId ?? "");
  if (d.scheduledTime !== undefined) writeTimeField(w, 10, timestampFromMs(d.scheduledTime));
  if (d.attempt !== undefined && d.attempt !== 0) w.tag(11, VARINT).int32(d.attempt);
  if (d.manual === true) w.tag(12, VARINT).bool(true);
  if (d.runStatus !== undefined) w.tag(13, VARINT).int32(runStatusToProto(d.runStatus));
  if (d.result !== undefined) writeValueField(w, 14, d.result);
  if (d.error !== undefined) writeRunError(w, d.error);
  writeString(w, 16, d.reason ?? "");
  if (d.worker !== undefined) {
    const s = d.worker;
    w.tag(17, LD).fork();
    writeString(w, 1, s.workerId);
    writeString(w, 2, s.sessionId);
    for (const [handler, maxConcurrency] of s.handlers) {
      w.tag(3, LD).fork();
      writeString(w, 1, handler);
      if (maxConcurrency !== 0) w.tag(2, VARINT).int32(maxConcurrency);
      w.join();
    }
    if (s.maxConcurrency !== 0) w.tag(4, VARINT).int32(s.maxConcurrency);
    for (const [k, v] of Object.entries(s.labels))
      w.tag(5, LD).fork().tag(1, LD).string(k).tag(2, LD).string(v).join();
    w.join();
  }
  if (d.result !== undefined) writeString(w, 18, JSON.stringify(d.result));
  writeString(w, 19, d.actor ?? "");
  writeString(w, 20, d.keyId ?? "");
}
