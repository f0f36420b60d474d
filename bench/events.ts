/**
 * Events: commit-to-subscriber latency and delivery rate with 100 subscribers, while the engine
 * fires 1,000 interval jobs every second, their fire times spread over the second (each run
 * records job_submitted and job_executed: a steady 2,000 events per second). The firing lateness is measured in two windows, first without
 * subscribers and then with them, so that their cost to the engine shows.
 *
 * Server and SDK worker are separate processes on MariaDB; the subscribers run in this process,
 * each on its own HTTP/2 connection (@grpc/grpc-js), reading only each event's cursor, type and
 * time off the wire. Latency is the
 * time a subscriber receives an event minus the event's `time`, which the server takes before
 * the transaction that writes it (so it includes the commit itself). By default every
 * subscriber receives every event; BENCH_FILTERED=1 gives each a filter on a hundredth of the
 * jobs instead.
 *
 * With the subscribers, the server's own share is reported beside: its event loop's delay and
 * collections in the window (server-probe.js), and `server_read_lag_ms`, from an event's time
 * to the server's reading it for its subscribers (the histogram `metronome_event_read_lag_seconds`
 * scraped at both ends of the window: each quantile is the upper bound of its bucket).
 *
 *   npm run -s bench -- events
 *   BENCH_JOBS=500 BENCH_SECONDS=5 BENCH_SUBSCRIBERS=10 npm run -s bench -- events
 */
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import parse from "parse-prometheus-text-format";
import { SubscribeRequestSchema } from "../server/src/gen/metronome/v1/event_service_pb.js";
import { EventType } from "../server/src/gen/metronome/v1/event_pb.js";
import {
  addJobsBulk,
  cpuSeconds,
  machine,
  peakRssMb,
  percentiles,
  setUp,
  ts,
  until,
  type Execution,
} from "./engine-support.js";
import { Latencies, readLean, type Lean } from "./event-wire.js";

const JOBS = Number(process.env.BENCH_JOBS ?? "1000");
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? "10");
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? "100");
const FILTERED = process.env.BENCH_FILTERED === "1";
const WARMUP_S = 5;

/** Latencies of every delivery in the window, and per event type (its enum number). */
let allLatencies: Latencies | undefined;
const byType: Record<number, Latencies> = {};
interface Subscriber {
  /** The cursor of the last event received in the window, and whether each came after it. */
  lastCursor: number;
  ordered: boolean;
  received: number;
  /** Messages that carried at least one event of the window. */
  messages: number;
  live: Promise<void>;
  stop(): void;
}

function subscribe(
  port: number,
  index: number,
  window: { readonly b0: number; readonly b1: number },
): Subscriber {
  const client = new grpc.Client(`127.0.0.1:${String(port)}`, grpc.credentials.createInsecure(), {
    // One connection per subscriber, as separate services would have.
    "grpc.use_local_subchannel_pool": 1,
  });
  const filter = FILTERED
    ? {
        jobIds: Array.from(
          { length: Math.ceil(JOBS / SUBSCRIBERS) },
          (_, k) => `events-${String(k * SUBSCRIBERS + index)}`,
        ).filter((_, k) => k * SUBSCRIBERS + index < JOBS),
      }
    : {};
  const request = create(SubscribeRequestSchema, {
    filter,
    start: { case: "fromNow", value: true },
  });
  let markLive: () => void = () => undefined;
  const call = client.makeServerStreamRequest(
    "/metronome.v1.EventService/Subscribe",
    (req: typeof request) => Buffer.from(toBinary(SubscribeRequestSchema, req)),
    readLean,
    request,
  );
  const sub: Subscriber = {
    lastCursor: 0,
    ordered: true,
    received: 0,
    messages: 0,
    live: new Promise((resolve) => (markLive = resolve)),
    stop: () => {
      call.cancel();
      client.close();
    },
  };
  call.on("data", (res: Lean) => {
    if (res.live) markLive();
    const now = Date.now();
    let counted = false;
    const all = (allLatencies ??= new Latencies());
    const events = res.events;
    for (let i = 0; i < events.length; i += 3) {
      const cursor = events[i] ?? 0;
      const type = events[i + 1] ?? 0;
      const timeMs = events[i + 2] ?? 0;
      if (timeMs < window.b0 || timeMs >= window.b1) continue;
      if (!counted) sub.messages++;
      counted = true;
      sub.received++;
      all.add(now - timeMs);
      (byType[type] ??= new Latencies()).add(now - timeMs);
      if (cursor <= sub.lastCursor) sub.ordered = false;
      sub.lastCursor = cursor;
    }
  });
  call.on("error", (err: grpc.ServiceError) => {
    if (err.code !== grpc.status.CANCELLED)
      console.error(`subscriber ${String(index)} failed`, err);
  });
  return sub;
}

/** The read-lag histogram's cumulative counts by upper bound (seconds), scraped from /metrics. */
async function readLag(port: number): Promise<Map<number, number>> {
  const res = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${String(res.status)}`);
  const family = parse(await res.text()).find((f) => f.name === "metronome_event_read_lag_seconds");
  const buckets = family?.metrics[0]?.buckets ?? {};
  return new Map(
    Object.entries(buckets).map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), Number(n)]),
  );
}

/** The quantiles of what was counted between two scrapes: each its bucket's bound, in ms. */
function lagQuantiles(before: Map<number, number>, after: Map<number, number>) {
  const bounds = [...after.keys()].sort((x, y) => x - y);
  const count = (le: number) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = count(Infinity);
  const at = (q: number) => {
    if (total === 0) return null;
    const le = bounds.find((b) => count(b) >= q * total) ?? Infinity;
    return Number.isFinite(le) ? le * 1000 : null;
  };
  return { events: total, p50_le: at(0.5), p95_le: at(0.95), p99_le: at(0.99) };
}

function lateness(executions: readonly Execution[], w0: number, w1: number) {
  const inWindow = executions.filter((e) => e.scheduledTime >= w0 && e.scheduledTime < w1);
  const distinct = new Set(inWindow.map((e) => `${e.jobId}@${String(e.scheduledTime)}`));
  return {
    expected: JOBS * ((w1 - w0) / 1000),
    distinct: distinct.size,
    duplicates: inWindow.length - distinct.size,
    ...percentiles(inWindow.map((e) => e.started - e.scheduledTime)),
  };
}

const bench = await setUp("events");
const subscribers: Subscriber[] = [];
try {
  const worker = await bench.startWorker(JOBS);
  const start = Math.ceil((Date.now() + 3000 + JOBS) / 1000) * 1000;
  await addJobsBulk(bench, JOBS, (i) => ({
    id: `events-${String(i)}`,
    // Spread over the second: a steady rate rather than one burst per second.
    trigger: {
      kind: {
        case: "interval",
        value: { seconds: 1, startDate: ts(start + Math.floor((i * 1000) / JOBS)) },
      },
    },
  }));
  if (Date.now() > start) throw new Error("adding the jobs took longer than planned");

  // Window 1: the engine alone.
  const a0 = start + WARMUP_S * 1000;
  const a1 = a0 + WINDOW_S * 1000;
  await until(a0);
  const cpuA0 = cpuSeconds(bench.server.pid);
  await until(a1);
  const cpuA1 = cpuSeconds(bench.server.pid);

  // Window 2: the same with the subscribers, from the second after they are all live.
  const window: { b0: number; b1: number } = { b0: Infinity, b1: Infinity };
  for (let i = 0; i < SUBSCRIBERS; i++) subscribers.push(subscribe(bench.server.port, i, window));
  await Promise.all(subscribers.map((s) => s.live));
  const connectMs = Date.now() - a1;
  window.b0 = Math.ceil((Date.now() + 1000) / 1000) * 1000;
  window.b1 = window.b0 + WINDOW_S * 1000;
  const { b0, b1 } = window;
  await until(b0);
  const cpuB0 = cpuSeconds(bench.server.pid);
  const selfB0 = cpuSeconds(process.pid);
  const [lagB0] = await Promise.all([readLag(bench.server.port), bench.probe()]);
  await until(b1);
  const cpuB1 = cpuSeconds(bench.server.pid);
  const selfB1 = cpuSeconds(process.pid);
  const [lagB1, probe] = await Promise.all([readLag(bench.server.port), bench.probe()]);
  // Events of the window's last moments are still arriving.
  await until(b1 + 2000);
  const rss = peakRssMb(bench.server.pid);
  for (const s of subscribers) s.stop();
  await worker.stop();
  const executions = worker.executions();

  const all = allLatencies ?? new Latencies();
  const p = all.percentiles();
  // Every subscriber received the same events, each once, in cursor order.
  const ordered = subscribers.every((s) => s.ordered);
  const counts = subscribers.map((s) => s.received);
  const perSubscriber = counts.reduce((x, y) => x + y, 0) / subscribers.length;
  const eventsTotal = FILTERED ? counts.reduce((x, y) => x + y, 0) : Math.max(...counts);
  const engineAlone = lateness(executions, a0, a1);
  const engineWithSubscribers = lateness(executions, b0, b1);
  console.log(
    JSON.stringify({
      bench: "events",
      latency_ms_by_type: Object.fromEntries(
        Object.entries(byType).map(([k, v]) => [
          EventType[Number(k)]?.toLowerCase() ?? k,
          v.percentiles(),
        ]),
      ),
      jobs: JOBS,
      subscribers: SUBSCRIBERS,
      filtered: FILTERED,
      window_s: WINDOW_S,
      subscribers_connect_ms: connectMs,
      events_per_s: Math.round(eventsTotal / WINDOW_S),
      events_per_s_per_subscriber: Math.round(perSubscriber / WINDOW_S),
      deliveries_per_s: Math.round(all.length / WINDOW_S),
      messages_per_s_per_subscriber: Math.round(
        subscribers.reduce((n, s) => n + s.messages, 0) / subscribers.length / WINDOW_S,
      ),
      latency_ms_p50: p.p50,
      latency_ms_p95: p.p95,
      latency_ms_p99: p.p99,
      latency_ms_max: p.max,
      in_cursor_order: ordered,
      same_events_everywhere: FILTERED || counts.every((c) => c === counts[0]),
      firing_lateness_ms_p99_alone: engineAlone.p99,
      firing_lateness_ms_p99_with_subscribers: engineWithSubscribers.p99,
      runs_missing_alone: engineAlone.expected - engineAlone.distinct,
      runs_missing_with_subscribers:
        engineWithSubscribers.expected - engineWithSubscribers.distinct,
      server_cpu_s_alone: Math.round((cpuA1 - cpuA0) * 100) / 100,
      server_cpu_s_with_subscribers: Math.round((cpuB1 - cpuB0) * 100) / 100,
      subscribers_cpu_s: Math.round((selfB1 - selfB0) * 100) / 100,
      server_read_lag_ms: lagQuantiles(lagB0, lagB1),
      server_loop_delay_ms_with_subscribers: probe.loop_delay_ms,
      server_gc_with_subscribers: probe.gc,
      server_peak_rss_mb: rss,
      targets: { latency_ms_p99: 50, events_per_s: 2000 },
      meets_targets: p.p99 <= 50 && eventsTotal / WINDOW_S >= 2000 * 0.95,
      store: "mariadb",
      ...machine(),
    }),
  );
} finally {
  for (const s of subscribers) s.stop();
  await bench.close();
}
