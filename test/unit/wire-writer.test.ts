/**
 * The hand encoders' writer (api/convert/wire-writer.ts) writes the bytes protobuf-es's
 * BinaryWriter writes for the same calls: generated sequences of tags, varints of every sign and
 * size, doubles (-0 and NaN included), strings short and long, ASCII or not (lone surrogates
 * too), raw bytes with their length, and nested messages whose lengths need one, two or three bytes. Values either writer
 * refuses are refused by both.
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WireWriter } from "../../server/src/api/convert/wire-writer.js";
import { ENCODING_PARAMS as PARAMS } from "../support/json-arbitraries.js";

type Op =
  | { op: "tag"; no: number; type: WireType }
  | { op: "int32"; v: number }
  | { op: "uint32"; v: number }
  | { op: "int64"; v: bigint }
  | { op: "bool"; v: boolean }
  | { op: "double"; v: number }
  | { op: "string"; v: string }
  | { op: "bytes"; v: Uint8Array }
  | { op: "nested"; ops: Op[] };

const op: fc.Arbitrary<Op> = fc.letrec<{ op: Op }>((tie) => ({
  op: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      op: fc.constant("tag" as const),
      no: fc.integer({ min: 1, max: 2 ** 29 - 1 }),
      type: fc.constantFrom(WireType.Varint, WireType.LengthDelimited, WireType.Bit64),
    }),
    fc.record({
      op: fc.constant("int32" as const),
      v: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    }),
    fc.record({ op: fc.constant("uint32" as const), v: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
    fc.record({
      op: fc.constant("int64" as const),
      v: fc.oneof(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
        fc.constantFrom(0n, -1n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 63n), 2n ** 63n - 1n),
      ),
    }),
    fc.record({ op: fc.constant("bool" as const), v: fc.boolean() }),
    fc.record({
      op: fc.constant("double" as const),
      v: fc.oneof(fc.double(), fc.constantFrom(0, -0, Number.NaN, Number.MAX_VALUE)),
    }),
    fc.record({
      op: fc.constant("string" as const),
      v: fc.oneof(
        fc.string({ maxLength: 140 }),
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.string({ unit: "binary", maxLength: 20 }),
        fc.string({ minLength: 127, maxLength: 300 }),
      ),
    }),
    fc.record({
      op: fc.constant("bytes" as const),
      v: fc.oneof(
        fc.uint8Array({ maxLength: 20 }),
        fc.uint8Array({ minLength: 120, maxLength: 700 }),
      ),
    }),
    fc.record({ op: fc.constant("nested" as const), ops: fc.array(tie("op"), { maxLength: 6 }) }),
  ),
})).op;

/** A nested message as long as `size` bytes of strings (lengths of one, two and three bytes). */
const padded = (size: number): Op => ({
  op: "nested",
  ops: Array.from({ length: Math.ceil(size / 100) }, () => ({ op: "string", v: "x".repeat(98) })),
});

function apply(w: BinaryWriter | WireWriter, ops: readonly Op[]): void {
  for (const o of ops) {
    switch (o.op) {
      case "tag":
        w.tag(o.no, o.type);
        break;
      case "int32":
        w.int32(o.v);
        break;
      case "uint32":
        w.uint32(o.v);
        break;
      case "int64":
        w.int64(o.v);
        break;
      case "bool":
        w.bool(o.v);
        break;
      case "double":
        w.double(o.v);
        break;
      case "string":
        w.string(o.v);
        break;
      case "bytes":
        w.bytes(o.v);
        break;
      case "nested":
        w.fork();
        apply(w, o.ops);
        w.join();
        break;
    }
  }
}

function both(ops: readonly Op[]): [Buffer, Buffer] {
  const reference = new BinaryWriter();
  const ours = new WireWriter();
  apply(reference, ops);
  apply(ours, ops);
  return [Buffer.from(ours.finish()), Buffer.from(reference.finish())];
}

describe("WireWriter", () => {
  it("writes what BinaryWriter writes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const [ours, reference] = both(ops);
        expect(ours).toEqual(reference);
      }),
      PARAMS,
    );
  });

  it.each([0, 127, 128, 16_383, 16_384, 70_000])(
    "writes a nested message of about %i bytes with its length",
    (size) => {
      const ops = [padded(size), { op: "bool", v: true } as const, padded(size)];
      const [ours, reference] = both([{ op: "nested", ops }]);
      expect(ours).toEqual(reference);
    },
  );

  it.each([
    ["int32", 2 ** 31],
    ["int32", 1.5],
    ["uint32", -1],
    ["uint32", 2 ** 32],
  ] as const)("refuses %s %d as BinaryWriter does", (kind, v) => {
    const ops: Op[] = [{ op: kind, v }];
    expect(() => {
      apply(new BinaryWriter(), ops);
    }).toThrow(/invalid u?int32/);
    expect(() => {
      apply(new WireWriter(), ops);
    }).toThrow(/invalid u?int32/);
  });
});
