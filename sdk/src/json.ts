/**
 * Converts a handler's return value to JSON the way `JSON.stringify` would (`toJSON()` is called,
 * `undefined` object properties are left out, `undefined` array items become null), but refuses
 * values that `JSON.stringify` would silently change or that cannot be JSON at all, so that a
 * result is never stored as something other than what the handler returned.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** The value cannot be represented as JSON; reported as error type `ResultNotSerializable`. */
export class NotSerializableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResultNotSerializable";
  }
}

/**
 * Deeper values are refused, as the server refuses them: a value travels as a Value, Struct or
 * ListValue (two messages a level), and protobuf decoders stop at 100 nested messages.
 */
const MAX_DEPTH = 32;

/** `value` as JSON; throws NotSerializableError naming the offending path (`result.a[2]`). */
export function toJsonValue(value: unknown): JsonValue {
  return convert(value, "", "result", new Set<object>(), 0);
}

function convert(
  value: unknown,
  key: string,
  path: string,
  ancestors: Set<object>,
  depth: number,
): JsonValue {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw new NotSerializableError(`${path} is ${value}, not JSON`);
      return value;
    case "bigint":
      throw new NotSerializableError(`${path} is a bigint; convert it to a number or a string`);
    case "undefined":
      throw new NotSerializableError(`${path} is undefined`);
    case "function":
    case "symbol":
      throw new NotSerializableError(`${path} is a ${typeof value}`);
    case "object":
      break;
  }
  if (depth >= MAX_DEPTH) {
    throw new NotSerializableError(`${path} is nested more than ${MAX_DEPTH} levels deep`);
  }
  const object = value;
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const replaced: unknown = toJSON.call(object, key);
    if (replaced !== object) return convert(replaced, key, path, ancestors, depth + 1);
  }
  if (ancestors.has(object)) throw new NotSerializableError(`${path} refers to itself (a cycle)`);
  if (
    object instanceof Map ||
    object instanceof Set ||
    object instanceof WeakMap ||
    object instanceof WeakSet
  ) {
    throw new NotSerializableError(
      `${path} is a ${object.constructor.name}; convert it to an array or an object`,
    );
  }
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      return object.map((item: unknown, i) =>
        item === undefined ? null : convert(item, String(i), `${path}[${i}]`, ancestors, depth + 1),
      );
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(object)) {
      if (v === undefined) continue;
      const converted = convert(v, k, `${path}.${k}`, ancestors, depth + 1);
      // A plain assignment to "__proto__" (a legal JSON key) would set the prototype instead.
      Object.defineProperty(out, k, {
        value: converted,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } finally {
    ancestors.delete(object);
  }
}
