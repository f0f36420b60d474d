/**
 * The quotas the API applies before a call reaches its service (docs/security.md, "Quotas and
 * rate limits"), in this node's memory:
 *
 * - requests per second of each principal (a key id, `env:<n>`, `anonymous`): a token bucket
 *   per principal, charged one token per unary call and per stream opened (a worker session's
 *   messages and a subscription's events are not requests);
 * - requests per second naming each scheduler (the schedulers access.ts reads from the request;
 *   `*` and the calls that find their scheduler only in the store are not charged to one);
 * - concurrent event subscriptions of each principal.
 *
 * A call over a rate is refused with the time until every bucket it needs holds a token again
 * (QuotaExceededError → RESOURCE_EXHAUSTED with google.rpc.RetryInfo, api/errors.ts); a refused
 * call takes no token. The health service is never charged (the interceptor does not call
 * here for it), nor are the probes and metrics (served beside the API).
 *
 * The limit on jobs per scheduler counts rows in the store: management/job-quota.ts.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import type { Clock } from "../clock.js";
import { QuotaExceededError } from "../domain/errors.js";
import { DEFAULT_LIMITS } from "../domain/jobs.js";
import { admit, TokenBuckets, type BucketLimit, type Charge } from "../lib/token-bucket.js";
import type { Principal } from "../management/key-ring.js";
import { ACCESS } from "./access.js";

export interface QuotaLimits {
  /** Requests per second of one principal; null: no limit. */
  readonly perKey: BucketLimit | null;
  /** Requests per second naming one scheduler; null: no limit. */
  readonly perScheduler: BucketLimit | null;
  /** Concurrent event subscriptions of one principal; null: no limit. */
  readonly subscribersPerKey: number | null;
}

export const NO_QUOTAS: QuotaLimits = { perKey: null, perScheduler: null, subscribersPerKey: null };

/** The quotas a refusal counts under (the `quota` label of metronome_quota_refusals_total). */
export type QuotaName = "key_rate" | "scheduler_rate" | "subscribers" | "jobs";

/** What a quota's message and QuotaFailure name a principal by. */
export function subjectOf(principal: Principal): string {
  return principal.keyId === null ? principal.actor : `key:${principal.keyId}`;
}

/** A bucket a call is charged to, and how a refusal names it. */
interface Limited extends Charge {
  readonly quota: QuotaName;
  readonly subject: string;
  readonly description: string;
}

const describeRate = (l: BucketLimit): string =>
  `${String(l.rate)} request${l.rate === 1 ? "" : "s"} per second, burst ${String(l.burst)}`;

export class Quotas {
  private readonly keyBuckets: TokenBuckets | null;
  private readonly schedulerBuckets: TokenBuckets | null;
  private readonly subscriptions = new Map<string, number>();

  constructor(
    private readonly limits: QuotaLimits,
    private readonly clock: Clock,
    /** Told of every refusal (metrics). */
    private readonly refused: (quota: QuotaName) => void = () => undefined,
  ) {
    this.keyBuckets = limits.perKey === null ? null : new TokenBuckets(limits.perKey);
    this.schedulerBuckets =
      limits.perScheduler === null ? null : new TokenBuckets(limits.perScheduler);
  }

  /**
   * Charges one call (a unary call, or a stream as it opens) to its principal and to the
   * schedulers its request names, or throws QuotaExceededError with the delay after which it
   * would pass. `request` is absent for client and bidi streams (their principal alone pays).
   */
  admit(method: DescMethod, principal: Principal, request?: unknown): void {
    if (this.keyBuckets === null && this.schedulerBuckets === null) return;
    const charges: Limited[] = [];
    if (this.keyBuckets !== null && this.limits.perKey !== null)
      charges.push({
        buckets: this.keyBuckets,
        name: principal.actor,
        quota: "key_rate",
        subject: subjectOf(principal),
        description: describeRate(this.limits.perKey),
      });
    if (
      this.schedulerBuckets !== null &&
      this.limits.perScheduler !== null &&
      request !== undefined
    )
      for (const s of schedulersNamed(method, request))
        charges.push({
          buckets: this.schedulerBuckets,
          name: s,
          quota: "scheduler_rate",
          subject: `scheduler:${s}`,
          description: describeRate(this.limits.perScheduler),
        });
    const now = this.clock.now();
    const wait = admit(charges, now);
    if (wait === 0) return;
    // Name the buckets that are empty now, the principal's first.
    const over = charges.filter((c) => c.buckets.waitMs(c.name, now) > 0);
    const first = over[0] ?? charges[0];
    if (first === undefined) return;
    this.refused(first.quota);
    const who = first.quota === "key_rate" ? `from ${first.subject}` : `naming ${first.subject}`;
    throw new QuotaExceededError(
      `too many requests ${who} (${first.description}): retry in ${(wait / 1000).toFixed(3)} s`,
      over.map((c) => ({ subject: c.subject, description: c.description })),
      wait,
    );
  }

  /**
   * An event subscription opens: takes one of its principal's slots, or throws
   * QuotaExceededError (no delay: a slot frees when one of its streams ends). Answers the
   * release, to call once when the stream ends (later calls do nothing).
   */
  openSubscription(principal: Principal): () => void {
    const max = this.limits.subscribersPerKey;
    if (max === null) return () => undefined;
    const name = principal.actor;
    const open = this.subscriptions.get(name) ?? 0;
    if (open >= max) {
      this.refused("subscribers");
      const subject = subjectOf(principal);
      const description = `concurrent event subscriptions on one node: ${String(max)}`;
      throw new QuotaExceededError(
        `too many event subscriptions of ${subject} on this node (at most ${String(max)}): end one first`,
        [{ subject, description }],
      );
    }
    this.subscriptions.set(name, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.subscriptions.get(name) ?? 1) - 1;
      if (left <= 0) this.subscriptions.delete(name);
      else this.subscriptions.set(name, left);
    };
  }

  /** Subscriptions open on this node by the principal whose actor is `actor`. */
  subscriptionsOf(actor: string): number {
    return this.subscriptions.get(actor) ?? 0;
  }
}

/** The schedulers a request names by its access rule (`*`, "every scheduler", names none). */
function schedulersNamed(method: DescMethod, request: unknown): string[] {
  const rule = ACCESS[`${method.parent.typeName}/${method.name}`];
  if (rule === undefined || !("schedulers" in rule)) return [];
  // A name too long to be valid is refused by its service anyway: no bucket for it.
  return [...new Set(rule.schedulers(request))].filter(
    (s) => s !== "*" && s.length <= DEFAULT_LIMITS.maxIdLength,
  );
}
