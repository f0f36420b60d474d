/**
 * Checks every request message gets before its service sees it, by walking the message's
 * descriptor: what protobuf decoding accepts but no field of ours means.
 *
 * - an enum field holds a value its enum declares (proto3 enums are open: 99 decodes);
 * - a double or float is finite;
 * - a `google.protobuf.Value` holds a value, and its numbers are finite (JSON has no NaN; a
 *   Struct's NaN would be stored as null);
 * - a Timestamp lies in years 1 to 9999 with nanos from 0 to 999,999,999, a Duration within
 *   ±10,000 years with nanos of its seconds' sign.
 *
 * A failure is an InvalidArgumentError naming the field in the proto's names
 * (`job.trigger.interval.start_date.nanos`, `statuses[1]`, `job.args[2]`, `job.kwargs["n"]`).
 */
import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "../domain/errors.js";
import { itemPath, joinPath } from "../domain/fields.js";

type Fields = Record<string, unknown>;

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range protobuf's JSON mapping allows.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;
const MAX_DURATION_SECONDS = 315_576_000_000n;
const MAX_NANOS = 999_999_999;

const fail = (field: string, reason: string): never => {
  throw new InvalidArgumentError(field, reason);
};

function checkTimestamp(m: Fields, path: string): void {
  const seconds = m.seconds as bigint;
  const nanos = m.nanos as number;
  if (nanos < 0 || nanos > MAX_NANOS)
    fail(joinPath(path, "nanos"), `must be from 0 to ${String(MAX_NANOS)}`);
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS)
    fail(path, "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z");
}

function checkDuration(m: Fields, path: string): void {
  const seconds = m.seconds as bigint;
  const nanos = m.nanos as number;
  if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS)
    fail(joinPath(path, "seconds"), "must be within 10,000 years");
  if (nanos < -MAX_NANOS || nanos > MAX_NANOS)
    fail(joinPath(path, "nanos"), `must be from -${String(MAX_NANOS)} to ${String(MAX_NANOS)}`);
  if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0))
    fail(joinPath(path, "nanos"), "must have the sign of seconds");
}

/** A JSON value as protobuf-es holds a Struct's fields: only its numbers can be wrong. */
function checkJson(value: unknown, path: string): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(path, "must be a finite number");
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      checkJson(v, itemPath(path, i));
    });
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) checkJson(v, `${path}[${JSON.stringify(k)}]`);
  }
}

/** A google.protobuf.Value message. */
function checkValue(m: Fields, path: string): void {
  const kind = m.kind as { case: string | undefined; value?: unknown };
  switch (kind.case) {
    case undefined:
      return fail(
        path,
        "must hold a value (null, a number, a string, a bool, a list or an object)",
      );
    case "numberValue":
      if (!Number.isFinite(kind.value)) fail(path, "must be a finite number");
      return;
    case "listValue": {
      checkListValue(kind.value as Fields, path);
      return;
    }
    case "structValue": {
      checkJson(kind.value, path);
      return;
    }
    default:
      return;
  }
}

function checkListValue(m: Fields, path: string): void {
  (m.values as Fields[]).forEach((v, i) => {
    checkValue(v, itemPath(path, i));
  });
}

function checkEnum(desc: DescEnum, value: number, path: string): void {
  if (!desc.values.some((v) => v.number === value))
    fail(path, `unknown value ${String(value)} of ${desc.name}`);
}

function checkScalar(scalar: ScalarType, value: unknown, path: string): void {
  if ((scalar === ScalarType.DOUBLE || scalar === ScalarType.FLOAT) && !Number.isFinite(value))
    fail(path, "must be a finite number");
}

/** Checks the message `m` of type `desc` at `path` (empty for the request itself). */
export function checkMessage(desc: DescMessage, m: Fields, path = ""): void {
  switch (desc.typeName) {
    case "google.protobuf.Timestamp": {
      checkTimestamp(m, path);
      return;
    }
    case "google.protobuf.Duration": {
      checkDuration(m, path);
      return;
    }
    case "google.protobuf.Value": {
      checkValue(m, path);
      return;
    }
    case "google.protobuf.ListValue": {
      checkListValue(m, path);
      return;
    }
    default:
      break;
  }
  for (const field of desc.fields) {
    let value: unknown;
    if (field.oneof) {
      const chosen = m[field.oneof.localName] as { case: string | undefined; value?: unknown };
      if (chosen.case !== field.localName) continue;
      value = chosen.value;
    } else {
      value = m[field.localName];
    }
    if (value === undefined) continue;
    checkField(field, value, joinPath(path, field.name));
  }
}

function checkField(field: DescField, value: unknown, path: string): void {
  switch (field.fieldKind) {
    case "enum": {
      checkEnum(field.enum, value as number, path);
      return;
    }
    case "scalar": {
      checkScalar(field.scalar, value, path);
      return;
    }
    case "message":
      // A Struct field holds a JSON object; a wrapper type, its value.
      if (field.message.typeName === "google.protobuf.Struct") {
        checkJson(value, path);
        return;
      }
      if (typeof value !== "object" || value === null) return;
      {
        checkMessage(field.message, value as Fields, path);
        return;
      }
    case "list":
      (value as unknown[]).forEach((item, i) => {
        const at = itemPath(path, i);
        if (field.listKind === "enum") checkEnum(field.enum, item as number, at);
        else if (field.listKind === "scalar") checkScalar(field.scalar, item, at);
        else checkMessage(field.message, item as Fields, at);
      });
      return;
    case "map":
      for (const [k, v] of Object.entries(value as Fields)) {
        const at = `${path}[${JSON.stringify(k)}]`;
        if (field.mapKind === "enum") checkEnum(field.enum, v as number, at);
        else if (field.mapKind === "scalar") checkScalar(field.scalar, v, at);
        else checkMessage(field.message, v as Fields, at);
      }
      return;
  }
}
