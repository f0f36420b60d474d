/**
 * fast-check arbitraries of any protobuf message, made from its descriptor: every field set or
 * not, values biased to what breaks servers (out-of-range enums, NaN and Infinity, timestamps
 * before year 1, nanos past a second, empty `Value`s, ids with odd characters) mixed with values
 * that are valid (ids, handlers, cron fields, crontab strings), so that some requests go deep.
 * And byte mutations of valid encoded messages.
 */
import { create, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import fc from "fast-check";

const WORDS = [
  "",
  "default",
  "a.b",
  "reports.daily",
  "job-1",
  "x",
  "UTC",
  "Asia/Shanghai",
  "Mars/Olympus",
  "*/5",
  "1-3",
  "last",
  "mon-fri",
  "0 * * * *",
  "*/10 * * * * *",
  "@daily",
  "61 * * * *",
  "../etc",
  "a b",
  "名",
  "\u0000",
  "job_defaults",
  "timezone",
  "trigger",
  "handler",
  "paused",
];

const stringArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant("x".repeat(300)) },
);

const doubleArb = fc.oneof(
  fc.constantFrom(0, 1, -1, 0.5, 2, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.double(),
);

const int32Arb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 5, 10, 100, 1001, -1, 2_147_483_647, -2_147_483_648),
  fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }),
);

const int64Arb = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 5n, 60n, 4_102_444_800n, -62_135_596_801n, 253_402_300_800n),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);

function scalarArb(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return stringArb;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return doubleArb;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return int64Arb;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.constantFrom(0n, 1n, 5n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 1, 10, 1001), fc.nat({ max: 4_294_967_295 }));
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 8 });
    default:
      return int32Arb;
  }
}

const jsonLeaf = fc.oneof(fc.constant(null), fc.boolean(), stringArb, doubleArb);
const jsonArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    jsonLeaf,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", "n"), tie("value"), { maxKeys: 3 }),
  ),
})).value;

const MAX_DEPTH = 4;

function fieldArb(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarArb(field.scalar);
    case "enum":
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...field.enum.values.map((v) => v.number)) },
        { weight: 1, arbitrary: int32Arb },
      );
    case "message":
      return valueOfMessage(field.message, depth + 1);
    case "list": {
      const item =
        field.listKind === "scalar"
          ? scalarArb(field.scalar)
          : field.listKind === "enum"
            ? fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), int32Arb)
            : valueOfMessage(field.message, depth + 1);
      return fc.array(item, { maxLength: depth > 1 ? 1 : 3 });
    }
    case "map":
      return fc.constant({});
  }
}

/** What a message-typed field holds (a Struct field holds a JSON object). */
function valueOfMessage(desc: DescMessage, depth: number): fc.Arbitrary<unknown> {
  if (desc.typeName === "google.protobuf.Struct")
    return fc.dictionary(fc.constantFrom("a", "b", "n"), jsonArb, { maxKeys: 3 });
  if (desc.typeName === "google.protobuf.Value") return valueArb;
  if (desc.typeName === "google.protobuf.ListValue")
    return fc.array(valueArb, { maxLength: 3 }).map((values) => ({ values }));
  if (depth > MAX_DEPTH) return fc.constant(create(desc));
  return messageArb(desc, depth);
}

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ kind: { case: undefined } }),
  doubleArb.map((value) => ({ kind: { case: "numberValue", value } })),
  stringArb.map((value) => ({ kind: { case: "stringValue", value } })),
  fc.boolean().map((value) => ({ kind: { case: "boolValue", value } })),
  fc.constant({ kind: { case: "nullValue", value: 0 } }),
);

/** Any message of type `desc`: each field set or not; one member of each oneof, or none. */
export function messageArb(desc: DescMessage, depth = 0): fc.Arbitrary<Message> {
  const plain = desc.fields.filter((f) => f.oneof === undefined);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of plain) record[f.localName] = fieldArb(f, depth);
  for (const oneof of desc.oneofs) {
    record[oneof.localName] = fc.oneof(
      fc.constant({ case: undefined }),
      ...oneof.fields.map((f) => fieldArb(f, depth).map((value) => ({ case: f.localName, value }))),
    );
  }
  return fc
    .record(record, { requiredKeys: [] })
    .map((init) => create(desc, init as never) as Message);
}

/** Byte mutations of `bytes`: flips, truncations, insertions, deletions. */
export function mutationArb(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: Math.max(0, bytes.length) });
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const out = Uint8Array.from(bytes);
      if (i < out.length) out[i] = b;
      return out;
    }),
    at.map((i) => bytes.slice(0, i)),
    fc
      .tuple(at, fc.uint8Array({ minLength: 1, maxLength: 4 }))
      .map(([i, ins]) => Uint8Array.from([...bytes.slice(0, i), ...ins, ...bytes.slice(i)])),
    fc
      .tuple(at, fc.integer({ min: 1, max: 4 }))
      .map(([i, n]) => Uint8Array.from([...bytes.slice(0, i), ...bytes.slice(i + n)])),
  );
}
