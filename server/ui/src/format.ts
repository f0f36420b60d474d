/** Small formatting helpers of the dashboard's pages. */
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { RunStatus } from "../../src/gen/metronome/v1/run_pb.js";
import { EventType } from "../../src/gen/metronome/v1/event_pb.js";
import { formatInstant } from "./trigger-words.js";

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)) : undefined;
}

const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A time in the browser's zone, to the second, zone named; "—" when there is none. */
export function when(ts: Timestamp | undefined): string {
  return ts ? formatInstant(ts, BROWSER_ZONE) : "—";
}

/** How long between two times: "850 ms", "12.4 s", "3 min 5 s"; "—" when not both. */
export function between(from: Timestamp | undefined, to: Timestamp | undefined): string {
  const a = toDate(from);
  const b = toDate(to);
  if (!a || !b) return "—";
  return millis(b.getTime() - a.getTime());
}

export function millis(ms: number): string {
  if (ms < 1000) return `${String(Math.max(0, Math.round(ms)))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60))} min ${String(s % 60)} s`;
}

export function durationText(d: Duration | undefined): string {
  return d ? millis(Number(d.seconds) * 1000 + d.nanos / 1e6) : "—";
}

/** RUN_STATUS_SUCCEEDED → "succeeded". */
export function statusName(status: RunStatus): string {
  const name = (RunStatus as Record<number, string | undefined>)[status];
  return (name ?? "unknown").replace(/^RUN_STATUS_/, "").toLowerCase();
}

/** EVENT_TYPE_JOB_EXECUTED → "job executed". */
export function eventName(type: EventType): string {
  const name = (EventType as Record<number, string | undefined>)[type];
  return (name ?? "unknown")
    .replace(/^EVENT_TYPE_/, "")
    .toLowerCase()
    .replace(/_/g, " ");
}

/** A JSON text as the API gave it, indented for reading; "" stays "". */
export function prettyJson(text: string): string {
  if (text === "") return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
