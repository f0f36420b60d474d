/**
 * The events benchmark's subscriber side (events.ts): a lean read of SubscribeResponse messages
 * and latencies counted by value. Tested in test/unit/bench-events.test.ts against protobuf-es's
 * encoding and engine-support's `percentiles`.
 */
import type { percentiles } from "./engine-support.js";

/**
 * What a subscriber needs of a message: each event's cursor, type and time, read straight from
 * the wire, without an object per field (a full decode of every event in 100 subscribers would
 * cost this process more CPU than the server spends sending them; real subscribers are elsewhere,
 * and this process shares the machine's two cores with the server, its worker and MariaDB).
 */
export interface Lean {
  /** cursor, type and time (ms) of each event, one after the other. */
  readonly events: number[];
  readonly live: boolean;
}

/** Protobuf's wire types. */
const VARINT = 0;
const BIT64 = 1;
const LENGTH_DELIMITED = 2;
const BIT32 = 5;

/** A protobuf reader over one buffer: a varint at `at` moves `at` past it. */
class Wire {
  at = 0;
  constructor(readonly buf: Buffer) {}

  /** A varint (up to 2^53: cursors, times, lengths, enums). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.buf[this.at++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  }

  /** Past a field of wire type `wt` whose tag was read. */
  skip(wt: number): void {
    if (wt === VARINT) this.varint();
    else if (wt === BIT64) this.at += 8;
    else if (wt === BIT32) this.at += 4;
    else if (wt === LENGTH_DELIMITED) {
      const length = this.varint(); // before `at` is read: `at += varint()` reads it first
      this.at += length;
    } else throw new Error(`wire type ${String(wt)} in a SubscribeResponse`);
  }
}

export function readLean(buf: Buffer): Lean {
  const r = new Wire(buf);
  const events: number[] = [];
  let live = false;
  while (r.at < buf.length) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wt = tag % 8;
    if (no === 1 && wt === LENGTH_DELIMITED) {
      const end = r.varint() + r.at;
      let cursor = 0;
      let type = 0;
      let timeMs = 0;
      while (r.at < end) {
        const t = r.varint();
        const f = Math.floor(t / 8);
        if (f === 1) cursor = r.varint();
        else if (f === 2) type = r.varint();
        else if (f === 3) {
          const timeEnd = r.varint() + r.at;
          let seconds = 0;
          let nanos = 0;
          while (r.at < timeEnd) {
            const tt = r.varint();
            if (tt === (1 << 3) + VARINT) seconds = r.varint();
            else if (tt === (2 << 3) + VARINT) nanos = r.varint();
            else r.skip(tt % 8);
          }
          timeMs = seconds * 1000 + Math.floor(nanos / 1e6);
        } else r.skip(t % 8);
      }
      events.push(cursor, type, timeMs);
    } else if (no === 3 && wt === VARINT) live = r.varint() !== 0;
    else r.skip(wt);
  }
  return { events, live };
}

/**
 * Whole-millisecond latencies counted by value (a subscriber receives 20,000 events a second):
 * the same percentiles as sorting them all (engine-support's `percentiles`).
 */
export class Latencies {
  private static readonly SPAN = 120_000;
  private readonly counts = new Uint32Array(Latencies.SPAN);
  /** Values outside 0 … SPAN - 1. */
  private readonly others: number[] = [];
  length = 0;

  add(ms: number): void {
    this.length++;
    if (ms >= 0 && ms < Latencies.SPAN) this.counts[ms] = (this.counts[ms] ?? 0) + 1;
    else this.others.push(ms);
  }

  percentiles(): ReturnType<typeof percentiles> {
    const low = this.others.filter((v) => v < 0).sort((a, b) => a - b);
    const high = this.others.filter((v) => v >= 0).sort((a, b) => a - b);
    const n = this.length;
    /** The k-th smallest value (0-based). */
    const nth = (k: number): number => {
      if (k < low.length) return low[k] ?? 0;
      let seen = low.length;
      for (let v = 0; v < Latencies.SPAN; v++) {
        seen += this.counts[v] ?? 0;
        if (seen > k) return v;
      }
      return high[k - seen] ?? 0;
    };
    const at = (p: number) => nth(Math.min(n - 1, Math.floor(p * n)));
    if (n === 0) return { min: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    return { min: nth(0), p50: at(0.5), p95: at(0.95), p99: at(0.99), max: nth(n - 1) };
  }
}
