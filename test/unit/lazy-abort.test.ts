/** The SDK worker's lazily made abort signal (sdk/src/worker/abort.ts). */
import { describe, expect, it } from "vitest";
import { LazyAbort } from "../../sdk/src/worker/abort.js";

describe("LazyAbort", () => {
  it("is not aborted until abort(), and its signal follows", () => {
    const a = new LazyAbort();
    expect(a.aborted).toBe(false);
    const signal = a.signal;
    expect(signal.aborted).toBe(false);
    let heard: unknown;
    signal.addEventListener("abort", () => {
      heard = signal.reason as unknown;
    });
    a.abort("stop");
    expect(a.aborted).toBe(true);
    expect(heard).toBe("stop");
    expect(a.signal).toBe(signal);
  });

  it("aborted before anyone asked: the signal is born aborted with the first reason", () => {
    const a = new LazyAbort();
    a.abort("first");
    a.abort("second");
    expect(a.aborted).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe("first");
  });

  it("keeps the first reason once the signal exists, as AbortController does", () => {
    const a = new LazyAbort();
    const signal = a.signal;
    a.abort("first");
    a.abort("second");
    expect(signal.reason).toBe("first");
  });
});
