import { describe, expect, it } from "vitest";
import { figures, median } from "../../bench/compare-stats.js";

describe("bench compare's arithmetic", () => {
  it("takes the median of odd and even counts, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it("flattens the numeric figures of a line, leaving out targets and strings", () => {
    const f = figures({
      bench: "burst",
      lateness_ms_p99: 26,
      meets_targets: true,
      targets: { lateness_ms_p99: 25 },
      cpu_ms_per_call: { server: 0.6, client: 0.3 },
      note: null,
    });
    expect([...f]).toEqual([
      ["lateness_ms_p99", 26],
      ["cpu_ms_per_call.server", 0.6],
      ["cpu_ms_per_call.client", 0.3],
    ]);
  });
});
