import { afterEach, describe, expect, it, vi } from "vitest";
import { newRunId, runIdAfter } from "../../server/src/engine/ids.js";

describe("run ids", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sort by creation time, and runIdAfter(ms) between those made up to ms and those made after", () => {
    const ms = Date.UTC(2026, 11, 5, 10, 0, 0);
    vi.useFakeTimers({ now: ms - 1, toFake: ["Date"] });
    const before = newRunId();
    vi.setSystemTime(ms);
    const at = Array.from({ length: 100 }, () => newRunId());
    vi.setSystemTime(ms + 1);
    const after = newRunId();
    const bound = runIdAfter(ms);
    expect(at.every((id) => before < id)).toBe(true);
    for (const id of [before, ...at]) expect(id < bound).toBe(true);
    expect(after > bound).toBe(true);
    expect(bound).toMatch(/^[0-9a-f]{32}$/);
    expect(after).toMatch(/^[0-9a-f]{32}$/);
  });
});
