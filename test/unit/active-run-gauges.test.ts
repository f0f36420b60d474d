/**
 * The two gauges read from the store at scrape time (`metronome_runs_waiting_for_worker`,
 * `metronome_active_leases`) share one read per scrape; the next scrape reads again; while the
 * store cannot be read their series are left out and the scrape still answers.
 */
import { describe, expect, it } from "vitest";
import { NodeMetrics } from "../../server/src/metrics/metrics.js";
import type { ActiveRunCount } from "../../server/src/store/port.js";

function metrics(read: () => Promise<ActiveRunCount[]>): NodeMetrics {
  return new NodeMetrics({
    now: () => 0,
    sessions: () => [],
    activeRuns: read,
    eventPosition: () => 0,
    pools: () => [],
  });
}

const sample = (text: string, name: string): string[] =>
  text.split("\n").filter((line) => line.startsWith(`${name}{`));

describe("the gauges of active runs", () => {
  it("read the store once per scrape, and again at the next one", async () => {
    let reads = 0;
    let counts: ActiveRunCount[] = [
      { scheduler: "s1", state: "due", count: 3 },
      { scheduler: "s1", state: "running", count: 2 },
      { scheduler: "s2", state: "running", count: 5 },
    ];
    const m = metrics(() => {
      reads += 1;
      return Promise.resolve(counts);
    });
    const first = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(sample(first, "metronome_runs_waiting_for_worker")).toEqual([
      'metronome_runs_waiting_for_worker{scheduler="s1"} 3',
    ]);
    expect(sample(first, "metronome_active_leases")).toEqual([
      'metronome_active_leases{scheduler="s1"} 2',
      'metronome_active_leases{scheduler="s2"} 5',
    ]);

    counts = [{ scheduler: "s1", state: "running", count: 1 }];
    const second = await m.registry.metrics();
    expect(reads).toBe(2);
    expect(sample(second, "metronome_runs_waiting_for_worker")).toEqual([]);
    expect(sample(second, "metronome_active_leases")).toEqual([
      'metronome_active_leases{scheduler="s1"} 1',
    ]);
  });

  it("leave their series out while the store cannot be read", async () => {
    let failing = true;
    const m = metrics(() =>
      failing
        ? Promise.reject(new Error("store down"))
        : Promise.resolve([{ scheduler: "s1", state: "due", count: 4 }]),
    );
    const down = await m.registry.metrics();
    expect(sample(down, "metronome_runs_waiting_for_worker")).toEqual([]);
    expect(down).toContain("metronome_worker_sessions 0");
    failing = false;
    expect(sample(await m.registry.metrics(), "metronome_runs_waiting_for_worker")).toEqual([
      'metronome_runs_waiting_for_worker{scheduler="s1"} 4',
    ]);
  });
});
