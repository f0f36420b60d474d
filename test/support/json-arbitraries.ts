/**
 * Generated values for the hand-written encoders' property tests (session-responses,
 * job-bytes): any JSON for args and kwargs, short texts, instants, and the runs' parameters.
 */
import fc from "fast-check";
import type { JsonValue } from "../../server/src/domain/jobs.js";

/** A fixed seed by default (CI runs the same cases); ENCODING_SEED and ENCODING_RUNS explore. */
export const ENCODING_PARAMS = {
  numRuns: Number(process.env.ENCODING_RUNS ?? 500),
  seed: Number(process.env.ENCODING_SEED ?? 20_261_206),
};

export const text = fc.string({ unit: "grapheme", maxLength: 12 });

/**
 * An object's keys. Not `__proto__`: protobuf-es's reflective encoder drops that key (it builds
 * the Struct's map as a plain object, where assigning it sets the prototype), while the hand
 * encoders write every key of the object, as args_json/kwargs_json carry it.
 */
export const key = text.filter((k) => k !== "__proto__");

export const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), 1e-300),
    text,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** An instant (epoch milliseconds) between 1970 and 2100. */
export const ms = fc.integer({ min: 0, max: 4_102_444_800_000 });
