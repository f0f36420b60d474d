import { describe, expect, it } from "vitest";
import { admit, TokenBuckets } from "../../../server/src/lib/token-bucket.js";

// Time is passed in: each test moves `t` by hand.
describe("TokenBuckets", () => {
  it("a new bucket holds `burst` tokens, then refuses with the time until the next token", () => {
    const b = new TokenBuckets({ rate: 2, burst: 3 });
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(b.waitMs("k", t)).toBe(0);
      b.take("k", t);
    }
    // One token every 500 ms.
    expect(b.waitMs("k", t)).toBe(500);
    expect(b.waitMs("k", t + 499)).toBe(1);
    expect(b.waitMs("k", t + 500)).toBe(0);
  });

  it("refills at `rate` and never beyond `burst`", () => {
    const b = new TokenBuckets({ rate: 10, burst: 2 });
    b.take("k", 0);
    b.take("k", 0);
    expect(b.waitMs("k", 0)).toBe(100);
    // An hour later it holds 2, not 36,000.
    const later = 3_600_000;
    b.take("k", later);
    b.take("k", later);
    expect(b.waitMs("k", later)).toBe(100);
  });

  it("a fractional rate: 0.5 per second is one token every 2 s", () => {
    const b = new TokenBuckets({ rate: 0.5, burst: 1 });
    b.take("k", 0);
    expect(b.waitMs("k", 0)).toBe(2000);
    expect(b.waitMs("k", 1500)).toBe(500);
  });

  it("buckets are per name", () => {
    const b = new TokenBuckets({ rate: 1, burst: 1 });
    b.take("a", 0);
    expect(b.waitMs("a", 0)).toBe(1000);
    expect(b.waitMs("b", 0)).toBe(0);
  });

  it("a clock that goes back refills nothing", () => {
    const b = new TokenBuckets({ rate: 1, burst: 1 });
    b.take("k", 10_000);
    expect(b.waitMs("k", 5_000)).toBe(1000);
  });

  it("checking changes nothing", () => {
    const b = new TokenBuckets({ rate: 1, burst: 1 });
    for (let i = 0; i < 5; i++) expect(b.waitMs("k", 0)).toBe(0);
    expect(b.size).toBe(0);
  });

  it("full buckets are dropped when many names are held, the others kept", () => {
    const b = new TokenBuckets({ rate: 1, burst: 1 });
    b.take("busy", 0);
    for (let i = 0; i < 9_999; i++) b.take(`n${String(i)}`, 0);
    expect(b.size).toBe(10_000);
    // 9 s later every bucket is full again: the next new name drops them all.
    b.take("late", 9_000);
    expect(b.size).toBe(1);
    b.take("new", 9_500);
    expect(b.size).toBe(2);
    // "late" refilled by 10 s; "new" has not.
    expect(b.waitMs("late", 10_000)).toBe(0);
    expect(b.waitMs("new", 10_000)).toBe(500);
  });

  it("a drop that frees nothing waits until the map has doubled before the next", () => {
    const b = new TokenBuckets({ rate: 1, burst: 1 });
    for (let i = 0; i < 10_001; i++) b.take(`n${String(i)}`, 0);
    expect(b.size).toBe(10_001);
    // The n buckets are full 5 s later, but the next drop comes at 20,000 names.
    for (let i = 0; i < 9_999; i++) b.take(`m${String(i)}`, 5_000);
    expect(b.size).toBe(20_000);
    b.take("last", 5_000);
    expect(b.size).toBe(10_000);
  });

  it("rejects a rate of 0 or a burst below 1", () => {
    expect(() => new TokenBuckets({ rate: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ rate: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe("admit", () => {
  it("takes a token from every bucket, or from none and answers the longest wait", () => {
    const keys = new TokenBuckets({ rate: 1, burst: 2 });
    const schedulers = new TokenBuckets({ rate: 4, burst: 1 });
    const charges = [
      { buckets: keys, name: "k" },
      { buckets: schedulers, name: "s" },
    ];
    expect(admit(charges, 0)).toBe(0);
    // The scheduler's bucket is empty (250 ms to go); the key's still holds one: nothing taken.
    expect(admit(charges, 0)).toBe(250);
    expect(keys.waitMs("k", 0)).toBe(0);
    expect(admit(charges, 250)).toBe(0);
    // Now the key's is empty: 1 s after its first token was taken, less the 250 ms.
    expect(admit(charges, 250)).toBe(750);
  });

  it("a name charged twice in one call pays once", () => {
    const b = new TokenBuckets({ rate: 1, burst: 1 });
    expect(
      admit(
        [
          { buckets: b, name: "s" },
          { buckets: b, name: "s" },
        ],
        0,
      ),
    ).toBe(0);
    expect(b.waitMs("s", 1000)).toBe(0);
  });

  it("no charges: admitted", () => {
    expect(admit([], 0)).toBe(0);
  });
});
