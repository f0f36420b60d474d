/**
 * The call deadline carried through async work (server/src/lib/deadline.ts), including across
 * the storage being switched off between calls and back on for the next.
 */
import { setImmediate as turn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { currentDeadline, timeLeft, withDeadline } from "../../server/src/lib/deadline.js";

describe("withDeadline", () => {
  it("carries the deadline through awaits, and nothing outside", async () => {
    expect(currentDeadline()).toBeUndefined();
    expect(timeLeft()).toBe(Number.POSITIVE_INFINITY);
    const seen = await withDeadline(5_000, async () => {
      await turn();
      await Promise.resolve();
      return [currentDeadline(), timeLeft(1_000)];
    });
    expect(seen).toEqual([5_000, 4_000]);
    expect(currentDeadline()).toBeUndefined();
  });

  it("keeps each of overlapping calls' own deadline, when the other settles first too", async () => {
    let releaseB: () => void = () => undefined;
    const bGate = new Promise<void>((resolve) => (releaseB = resolve));
    const b = withDeadline(2_000, async () => {
      const before = currentDeadline();
      await bGate;
      await turn();
      return [before, currentDeadline()];
    });
    const a = await withDeadline(1_000, async () => {
      await turn();
      return currentDeadline();
    });
    expect(a).toBe(1_000);
    releaseB();
    expect(await b).toEqual([2_000, 2_000]);
  });

  it("works again after the storage was switched off, and after a call that threw", async () => {
    await withDeadline(1, () => Promise.resolve());
    expect(() =>
      withDeadline(2, () => {
        throw new Error("sync");
      }),
    ).toThrow("sync");
    await expect(withDeadline(3, () => Promise.reject(new Error("async")))).rejects.toThrow(
      "async",
    );
    const later = await withDeadline(4, async () => {
      await turn();
      return currentDeadline();
    });
    expect(later).toBe(4);
  });
});
