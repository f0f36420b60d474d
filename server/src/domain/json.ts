/**
 * Job arguments given as JSON text (`args_json`, `kwargs_json`): parsed so that what comes back
 * out is what went in. The server holds JSON numbers as IEEE doubles (JavaScript numbers), which
 * hold every integer of magnitude up to 2^53 - 1 exactly; an integer literal beyond that would
 * come back changed, so it is refused instead of rounded. Nesting is bounded (MAX_JSON_DEPTH) so
 * that every value can also travel as a ListValue, Struct or Value inside the API's messages.
 */
import { InvalidArgumentError } from "./errors.js";

/** A JSON value as JSON.parse makes it (args, kwargs, results). */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = Record<string, JsonValue>;

/**
 * The deepest nesting of arrays and objects accepted, in args, kwargs and results alike. Each
 * level is two messages where the value travels as a ListValue, Struct or Value (a Value holding
 * a ListValue), inside a response that is itself a few messages deep, and decoders read messages
 * with a recursion limit: 100 in protobuf-es (the SDK), C++, Java and Python — so a value nested
 * ~49 levels deep can be written but not read back, a job, run, event or assignment that no
 * client could decode. 32 leaves room for the enclosing messages and for decoders with lower
 * limits. (Before, 100 was accepted; test/sdk/deep-payloads.test.ts.)
 */
export const MAX_JSON_DEPTH = 32;

/** Parses JSON text that must be an array; errors name `field`. */
export function parseJsonArray(text: string, field: string): JsonValue[] {
  const value = parseExactJson(text, field);
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, "must be a JSON array");
  return value;
}

/** Parses JSON text that must be an object; errors name `field`. */
export function parseJsonObject(text: string, field: string): JsonObject {
  const value = parseExactJson(text, field);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidArgumentError(field, "must be a JSON object");
  return value;
}

/**
 * JSON text as a value, refusing integer literals that a double cannot hold exactly and nesting
 * deeper than MAX_JSON_DEPTH.
 */
export function parseExactJson(text: string, field: string): JsonValue {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new InvalidArgumentError(field, `is not JSON (${withoutInput(err)})`);
  }
  checkTokens(text, field);
  return value;
}

/**
 * What JSON.parse found wrong, as its position only: its message quotes the input (in short or
 * abbreviated forms, `..."<part of it>"...`), and a refused value may be a secret while the
 * message is sent back, logged and, for an idempotent call, recorded.
 */
function withoutInput(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(message);
  if (at?.[1] !== undefined) return `invalid at position ${at[1]}`;
  return /end of JSON input/i.test(message) ? "it ends too soon" : "invalid";
}

const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Scans valid JSON text: its integer literals and its depth. */
function checkTokens(text: string, field: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string (the text is valid JSON: every escape is well formed).
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_JSON_DEPTH)
        throw new InvalidArgumentError(
          field,
          `is nested more than ${String(MAX_JSON_DEPTH)} levels deep`,
        );
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && /[0-9eE.+-]/.test(text.charAt(end))) end++;
      const token = text.slice(i, end);
      i = end - 1;
      if (!INTEGER.test(token)) {
        // A fraction or an exponent: a double, as sent, unless it is too large for one.
        if (!Number.isFinite(Number(token)))
          throw new InvalidArgumentError(
            field,
            `holds the number ${token}, too large for a double`,
          );
        continue;
      }
      const n = BigInt(token);
      if (n > MAX || n < -MAX)
        throw new InvalidArgumentError(
          field,
          `holds the integer ${token}, beyond ±(2^53 - 1): it cannot be kept exactly; send it as a string`,
        );
    }
  }
}

/**
 * Refuses a value (given as a ListValue, Struct or Value rather than as JSON text) nested more
 * than MAX_JSON_DEPTH levels deep, naming `field`.
 */
export function checkJsonDepth(value: JsonValue, field: string): void {
  if (depthOf(value, 0) > MAX_JSON_DEPTH)
    throw new InvalidArgumentError(
      field,
      `is nested more than ${String(MAX_JSON_DEPTH)} levels deep`,
    );
}

/** The nesting of `value` below `depth`, counting no further than one level past the limit. */
function depthOf(value: JsonValue, depth: number): number {
  if (value === null || typeof value !== "object") return depth;
  if (depth >= MAX_JSON_DEPTH) return depth + 1;
  let deepest = depth + 1;
  for (const v of Array.isArray(value) ? value : Object.values(value))
    deepest = Math.max(deepest, depthOf(v, depth + 1));
  return deepest;
}
