/**
 * `metronome_event_read_lag_seconds`: every event the hub reads for its subscribers is counted
 * once, in the bucket of its age at the read (the node's clock minus the event's time); a read
 * that found nothing (a node without subscribers follows only the log's end) counts nothing, and
 * the newest-event gauge says 0 then.
 */
import { describe, expect, it } from "vitest";
import { nodeEvent, type LoggedEvent } from "../../server/src/domain/events.js";
import { NodeMetrics } from "../../server/src/metrics/metrics.js";

function metrics(now: () => number): NodeMetrics {
  return new NodeMetrics({
    now,
    sessions: () => [],
    activeRuns: () => Promise.resolve([]),
    eventPosition: () => 0,
    pools: () => [],
  });
}

function read(time: number, cursor: number): LoggedEvent {
  return { ...nodeEvent("scheduler_started", time, "n1"), cursor };
}

/** Cumulative bucket counts of the histogram, by upper bound, and the gauge. */
async function figures(m: NodeMetrics) {
  const lag = await m.registry.getSingleMetric("metronome_event_read_lag_seconds")?.get();
  const gauge = await m.registry.getSingleMetric("metronome_event_log_lag_seconds")?.get();
  const buckets = new Map<string, number>();
  for (const v of (lag?.values ?? []) as { metricName?: string; labels: object; value: number }[])
    if (v.metricName === "metronome_event_read_lag_seconds_bucket")
      buckets.set(String((v.labels as { le?: unknown }).le), v.value);
  return { buckets, newest: gauge?.values[0]?.value };
}

describe("the event read lag", () => {
  it("counts each event read in the bucket of its age", async () => {
    let now = 10_000;
    const m = metrics(() => now);
    // Ages 2 ms, 40 ms and 700 ms at this read.
    m.observeLogRead([read(9_998, 1), read(9_960, 2), read(9_300, 3)]);
    let f = await figures(m);
    expect(f.buckets.get("0.001")).toBe(0);
    expect(f.buckets.get("0.0025")).toBe(1);
    expect(f.buckets.get("0.05")).toBe(2);
    expect(f.buckets.get("0.5")).toBe(2);
    expect(f.buckets.get("1")).toBe(3);
    expect(f.buckets.get("+Inf")).toBe(3);
    expect(f.newest).toBe(0.7);
    // A read that caught up without events: nothing counted, the gauge at 0.
    now = 20_000;
    m.observeLogRead([]);
    f = await figures(m);
    expect(f.buckets.get("+Inf")).toBe(3);
    expect(f.newest).toBe(0);
  });
});
