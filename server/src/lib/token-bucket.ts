/**
 * Token buckets, pure: a bucket holds up to `burst` tokens, refills at `rate` tokens a second,
 * and a request takes one. Time is passed in (epoch milliseconds) and nothing is scheduled, so
 * an idle bucket costs nothing and tests drive it with any clock.
 *
 * `TokenBuckets` keeps one bucket per name (a principal, a scheduler) and can admit a request
 * against several at once: either every bucket has a token and each gives one, or none gives
 * anything and the answer is how long until all of them would have one.
 */
export interface BucketLimit {
  /** Tokens added per second (> 0). */
  readonly rate: number;
  /** The most tokens the bucket holds: how many requests may come at once after a quiet time. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

/**
 * Past this many buckets, a new one first drops the full ones (a full bucket is as if absent);
 * the next drop waits until the map has doubled, so a flood of names costs amortised O(1).
 */
const PRUNE_ABOVE = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private pruneAt = PRUNE_ABOVE;

  constructor(private readonly limit: BucketLimit) {
    if (!(limit.rate > 0) || !(limit.burst >= 1))
      throw new RangeError("a token bucket needs rate > 0 and burst >= 1");
  }

  /** Buckets held now (full ones may be dropped at any time). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Milliseconds until `name`'s bucket holds a whole token (0: it holds one now), as of `now`.
   * Changes nothing.
   */
  waitMs(name: string, now: number): number {
    const tokens = this.tokensAt(name, now);
    if (tokens >= 1) return 0;
    // Less a hair, so that floating-point dust (0.998 tokens after 499 ms at 2/s) does not
    // round a 1 ms wait up to 2.
    return Math.max(1, Math.ceil(((1 - tokens) * 1000) / this.limit.rate - 1e-6));
  }

  /** Takes one token from `name`'s bucket as of `now`; the caller checked `waitMs` is 0. */
  take(name: string, now: number): void {
    const tokens = this.tokensAt(name, now);
    if (!this.buckets.has(name) && this.buckets.size >= this.pruneAt) {
      this.pruneFull(now);
      this.pruneAt = Math.max(PRUNE_ABOVE, 2 * this.buckets.size);
    }
    this.buckets.set(name, { tokens: tokens - 1, at: now });
  }

  private tokensAt(name: string, now: number): number {
    const b = this.buckets.get(name);
    if (b === undefined) return this.limit.burst;
    // A clock that went back refills nothing (and takes nothing back).
    const elapsed = Math.max(0, now - b.at) / 1000;
    return Math.min(this.limit.burst, b.tokens + elapsed * this.limit.rate);
  }

  private pruneFull(now: number): void {
    for (const name of [...this.buckets.keys()])
      if (this.tokensAt(name, now) >= this.limit.burst) this.buckets.delete(name);
  }
}

/** One name in one set of buckets: a request charges each of them one token. */
export interface Charge {
  readonly buckets: TokenBuckets;
  readonly name: string;
}

/**
 * Admits a request that costs one token of each charge: 0 when every bucket had one (each gave
 * it), otherwise the milliseconds until every one of them will have one (nothing was taken).
 * A name charged twice is charged once.
 */
export function admit(charges: readonly Charge[], now: number): number {
  let wait = 0;
  for (const c of charges) wait = Math.max(wait, c.buckets.waitMs(c.name, now));
  if (wait > 0) return wait;
  const taken = new Map<TokenBuckets, Set<string>>();
  for (const c of charges) {
    const names = taken.get(c.buckets) ?? new Set<string>();
    taken.set(c.buckets, names);
    if (names.has(c.name)) continue;
    names.add(c.name);
    c.buckets.take(c.name, now);
  }
  return 0;
}
