/**
 * The SDK worker's labels (sdk/src/worker/options.ts): given labels are merged over the
 * defaults, and one given as undefined (an unset environment variable) keeps its default
 * instead of replacing it with nothing.
 */
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { workerConfig } from "../../sdk/src/worker/options.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("worker labels", () => {
  it("merge over the defaults; one given as undefined keeps its default", () => {
    const labels = { team: "billing", host: process.env.METRONOME_TEST_UNSET_HOST };
    const config = workerConfig({ baseUrl: "http://127.0.0.1:1", labels, logger: silent });
    expect(config.labels).toMatchObject({
      team: "billing",
      host: hostname().slice(0, 255),
      pid: String(process.pid),
    });
    expect(Object.values(config.labels).every((v) => typeof v === "string")).toBe(true);
  });
});
