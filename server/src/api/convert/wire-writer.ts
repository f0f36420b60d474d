/**
 * The writer of the hand encoders (wire.ts's field writers): the subset of protobuf-es's
 * BinaryWriter they use, writing the same bytes (test/unit/wire-writer.test.ts compares them on
 * generated call sequences), into one growing buffer. protobuf-es's BinaryWriter gathers bytes in
 * arrays and, for every nested message, forks a new set of them and joins it by copying it into a
 * new Uint8Array: ~0.35 µs a nested message, and a job has some twenty-five of them. Here a nested
 * message reserves one byte for its length and, in the rare case that it is 128 bytes or more,
 * moves its bytes along to make room for a longer one.
 */
import { getTextEncoding, type WireType } from "@bufbuild/protobuf/wire";

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

export class WireWriter {
  private buf = new Uint8Array(512);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  /** Where each open nested message's length byte is. */
  private readonly forks: number[] = [];

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  /** An unsigned varint of a value in [0, 2^32). */
  private varint(value: number): void {
    this.room(5);
    while (value > 0x7f) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value = value >>> 7;
    }
    this.buf[this.pos++] = value;
  }

  uint32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX)
      throw new Error(`invalid uint32: ${String(value)}`);
    this.varint(value);
    return this;
  }

  tag(fieldNo: number, type: WireType): this {
    return this.uint32(((fieldNo << 3) | type) >>> 0);
  }

  int32(value: number): this {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX)
      throw new Error(`invalid int32: ${String(value)}`);
    if (value >= 0) this.varint(value);
    else this.int64(BigInt(value));
    return this;
  }

  /** A 64-bit varint: a negative value as its two's complement, ten bytes. */
  int64(value: bigint): this {
    this.room(10);
    if (value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
      let v = Number(value);
      while (v > 0x7f) {
        this.buf[this.pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buf[this.pos++] = v;
      return this;
    }
    let v = BigInt.asUintN(64, value);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  bool(value: boolean): this {
    this.room(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  double(value: number): this {
    this.room(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
    return this;
  }

  /** UTF-8 with its length: short ASCII byte per character, anything else by the encoder. */
  string(value: string): this {
    const n = value.length;
    if (n < 128) {
      this.room(n + 1);
      const start = this.pos;
      this.buf[this.pos++] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        this.buf[this.pos++] = c;
      }
      if (i === n) return this;
      this.pos = start;
    }
    const bytes = getTextEncoding().encodeUtf8(value);
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Bytes with their length (a length-delimited field's value, e.g. a message encoded before). */
  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.room(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** Starts a nested message (length-delimited), ended by join(). */
  fork(): this {
    this.room(1);
    this.forks.push(this.pos);
    this.pos += 1;
    return this;
  }

  /** Ends the nested message fork() started: its length before it. */
  join(): this {
    const at = this.forks.pop();
    if (at === undefined) throw new Error("join() without fork()");
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.buf[at] = length;
      return this;
    }
    let size = 1;
    for (let v = length; v > 0x7f; v >>>= 7) size++;
    this.room(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let p = at;
    let v = length;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    return this;
  }

  /** The bytes written (a copy). */
  finish(): Uint8Array {
    if (this.forks.length > 0) throw new Error("finish() inside a fork()");
    return this.buf.slice(0, this.pos);
  }
}
