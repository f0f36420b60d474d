/**
 * Protobuf's wire format written field by field, for the messages the server encodes by hand
 * (session-responses.ts, job-bytes.ts, event-bytes.ts): each writer puts down exactly what protobuf-es's
 * reflective `toBinary` writes for the same value, so that a hand-encoded message and a converted
 * one are the same bytes (the unit tests of both callers compare them), with a WireWriter
 * (wire-writer.ts).
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { WireWriter } from "./wire-writer.js";

export const LD = WireType.LengthDelimited;
export const VARINT = WireType.Varint;

/** A google.protobuf.Timestamp or Duration: seconds (1) and nanos (2), each when not zero. */
function writeTime(w: WireWriter, t: { seconds: bigint; nanos: number }): void {
  if (t.seconds !== 0n) w.tag(1, VARINT).int64(t.seconds);
  if (t.nanos !== 0) w.tag(2, VARINT).int32(t.nanos);
}

/** A message field `no` holding a Timestamp or Duration (written even when zero: it is set). */
export function writeTimeField(
  w: WireWriter,
  no: number,
  t: { seconds: bigint; nanos: number },
): void {
  w.tag(no, LD).fork();
  writeTime(w, t);
  w.join();
}

/** A google.protobuf.Value's fields for `v` (exactly one of the oneof `kind`). */
function writeValue(w: WireWriter, v: JsonValue): void {
  if (v === null) w.tag(1, VARINT).int32(0);
  else if (typeof v === "number") w.tag(2, WireType.Bit64).double(v);
  else if (typeof v === "string") w.tag(3, LD).string(v);
  else if (typeof v === "boolean") w.tag(4, VARINT).bool(v);
  else if (Array.isArray(v)) {
    w.tag(6, LD).fork();
    writeList(w, v);
    w.join();
  } else {
    w.tag(5, LD).fork();
    writeStruct(w, v);
    w.join();
  }
}

/** A message field `no` holding a google.protobuf.Value. */
export function writeValueField(w: WireWriter, no: number, v: JsonValue): void {
  w.tag(no, LD).fork();
  writeValue(w, v);
  w.join();
}

/** A google.protobuf.ListValue's fields: `values` (1). */
function writeList(w: WireWriter, values: readonly JsonValue[]): void {
  for (const v of values) {
    w.tag(1, LD).fork();
    writeValue(w, v);
    w.join();
  }
}

/** A message field `no` holding a google.protobuf.ListValue (written even when empty: it is set). */
export function writeListField(w: WireWriter, no: number, values: readonly JsonValue[]): void {
  w.tag(no, LD).fork();
  writeList(w, values);
  w.join();
}

/** A message field `no` holding a google.protobuf.Struct (written even when empty: it is set). */
export function writeStructField(w: WireWriter, no: number, o: JsonObject): void {
  w.tag(no, LD).fork();
  writeStruct(w, o);
  w.join();
}

/** A google.protobuf.Struct's fields: the map `fields` (1), an entry per key. */
function writeStruct(w: WireWriter, o: JsonObject): void {
  for (const [key, v] of Object.entries(o)) {
    w.tag(1, LD).fork().tag(1, LD).string(key).tag(2, LD).fork();
    writeValue(w, v);
    w.join().join();
  }
}

/** A string field, when not empty (proto3 leaves empty strings out). */
export function writeString(w: WireWriter, no: number, s: string): void {
  if (s !== "") w.tag(no, LD).string(s);
}

/** A double field, when not zero (proto3 leaves 0 out; -0 is written, as protobuf-es does). */
export function writeDouble(w: WireWriter, no: number, v: number): void {
  if (!Object.is(v, 0)) w.tag(no, WireType.Bit64).double(v);
}
