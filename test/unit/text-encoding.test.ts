import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { RunAssignmentSchema } from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import { encodeShortAscii, useFastTextEncoding } from "../../server/src/lib/text-encoding.js";

const platform = new TextEncoder();
/** Short ASCII: copied byte for byte. */
const FAST = ["", "a", "0195f3a2-7c1e-7b3a-9d2e-1f2a3b4c5d6e", "x".repeat(64)];
/** Longer or not ASCII: the platform's encoder. */
const FALLBACK = [
  "x".repeat(65),
  "é",
  "ascii then é",
  "日本語のジョブ",
  "emoji 🎉",
  "lone \ud800 surrogate",
  "\u007f\u0080",
];
const cases = [...FAST, ...FALLBACK];

describe("protobuf-es text encoding with the short-ASCII fast path", () => {
  it.each(cases)("encodes %j to the same bytes as TextEncoder", (text) => {
    expect(encodeShortAscii(text, (t) => platform.encode(t))).toEqual(platform.encode(text));
  });

  it("takes the fallback only for non-ASCII or long strings", () => {
    const fallbackFor: string[] = [];
    const fallback = (t: string) => {
      fallbackFor.push(t);
      return platform.encode(t);
    };
    for (const text of cases) encodeShortAscii(text, fallback);
    expect(fallbackFor).toEqual(FALLBACK);
  });

  it("is what protobuf-es uses once installed, and messages round-trip unchanged", () => {
    useFastTextEncoding();
    useFastTextEncoding();
    expect(getTextEncoding().encodeUtf8("run-1")).toEqual(platform.encode("run-1"));
    const a = create(RunAssignmentSchema, {
      jobId: "job-é-1",
      jobName: "日本語のジョブ",
      handler: "bench.record",
      scheduler: "x".repeat(100),
      lease: { runId: "0195f3a2-7c1e-7b3a-9d2e-1f2a3b4c5d6e", attempt: 2, leaseToken: "t" },
    });
    const back = fromBinary(RunAssignmentSchema, toBinary(RunAssignmentSchema, a));
    expect(back.jobId).toBe("job-é-1");
    expect(back.jobName).toBe("日本語のジョブ");
    expect(back.scheduler).toBe("x".repeat(100));
    expect(back.lease?.runId).toBe("0195f3a2-7c1e-7b3a-9d2e-1f2a3b4c5d6e");
  });
});
