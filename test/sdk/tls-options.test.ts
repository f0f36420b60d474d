/**
 * The SDK's `tls` option is checked when a client or worker is made: it needs an https://
 * baseUrl (a ready transport brings its own TLS), and a client certificate needs its key. Its
 * use against a server that asks for client certificates is in test/api/mtls.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MetronomeClient, Worker } from "@metronome/sdk";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("the tls option", () => {
  it("is refused without an https:// baseUrl, and beside a transport", () => {
    expect(
      () => new MetronomeClient({ baseUrl: "http://127.0.0.1:1", tls: { ca: "x" }, logger: quiet }),
    ).toThrow("MetronomeClient: tls needs an https:// baseUrl, got http://127.0.0.1:1");
    const transport = createGrpcTransport({ baseUrl: "https://127.0.0.1:1" });
    expect(() => new Worker({ transport, tls: { ca: "x" }, logger: quiet })).toThrow(
      "Worker: tls applies to baseUrl; give a transport its own TLS",
    );
  });

  it("wants a client certificate and its key together", () => {
    expect(
      () =>
        new MetronomeClient({ baseUrl: "https://127.0.0.1:1", tls: { cert: "c" }, logger: quiet }),
    ).toThrow("MetronomeClient: tls.cert and tls.key go together (a client certificate)");
    expect(
      () => new Worker({ baseUrl: "https://127.0.0.1:1", tls: { key: "k" }, logger: quiet }),
    ).toThrow("Worker: tls.cert and tls.key go together (a client certificate)");
  });
});
