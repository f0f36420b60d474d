/**
 * grpc-message as the gRPC spec encodes it (api/grpc-message.ts): printable ASCII as it is but
 * `%`, every other UTF-8 byte as `%XX`; Connect's encodeURIComponent form re-encoded so.
 */
import { describe, expect, it } from "vitest";
import { encodeGrpcMessage, respecGrpcMessage } from "../../server/src/api/grpc-message.js";

describe("grpc-message", () => {
  it("keeps printable ASCII but %, and encodes every other byte", () => {
    expect(encodeGrpcMessage("jobs[1].id: may contain only a-z, 0-9 / ; ?")).toBe(
      "jobs[1].id: may contain only a-z, 0-9 / ; ?",
    );
    expect(encodeGrpcMessage("100% done\n名")).toBe("100%25 done%0A%E5%90%8D");
  });

  it("re-encodes Connect's form in a header object, and leaves what it cannot read", () => {
    const headers = { "grpc-message": encodeURIComponent("job.args: 名 100%"), other: "x%3A" };
    respecGrpcMessage(headers);
    expect(headers).toEqual({ "grpc-message": "job.args: %E5%90%8D 100%25", other: "x%3A" });
    const broken = { "grpc-message": "bad %E5 escape" };
    respecGrpcMessage(broken);
    expect(broken["grpc-message"]).toBe("bad %E5 escape");
    // Every byte decodes back to the message with decodeURIComponent (Connect's clients).
    const message = "a: b, c/d [e] 100% 名\t";
    expect(decodeURIComponent(encodeGrpcMessage(message))).toBe(message);
  });
});
