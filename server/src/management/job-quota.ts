/**
 * The limit on jobs per scheduler (METRONOME_MAX_JOBS_PER_SCHEDULER; docs/security.md, "Quotas
 * and rate limits"). An add counts the scheduler's jobs in the store and refuses, before writing
 * anything, a call that would take it past the limit: QuotaExceededError (RESOURCE_EXHAUSTED,
 * without a retry delay: waiting does not make room, removing jobs does).
 *
 * - A job whose id exists already (re-added with replace_existing or keep_existing, or refused
 *   as ALREADY_EXISTS) adds nothing: when the count is close to the limit, the ids the call
 *   names are looked up, so a redeploy re-adding its jobs passes at the limit.
 * - On one node the count is exact: the adds to one scheduler take turns (the count, the
 *   inserts), so two calls cannot both see the last free place. With the limit off nothing
 *   waits and nothing is counted.
 * - Across nodes the turns are per node: while a node counts, adds on the other nodes may be
 *   inserting, so a scheduler can pass the limit by the jobs of the adds running at that moment
 *   on the other nodes (at most one call per scheduler per other node, up to 1000 jobs each).
 */
import { QuotaExceededError } from "../domain/errors.js";
import type { ManagementStore } from "../store/port.js";

export class JobQuota {
  /** Per scheduler, the end of the queue of adds on this node. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Pick<ManagementStore, "countJobs" | "getJob">,
    /** The most jobs one scheduler may hold; null: no limit. */
    private readonly max: number | null,
    /** Told of every refusal (metrics). */
    private readonly refused: () => void = () => undefined,
  ) {}

  /**
   * Runs `add`, which adds the jobs `ids` to their schedulers (scheduler → ids), once every one
   * of those schedulers has room for them; throws QuotaExceededError (running nothing) when
   * one has not.
   */
  async within<T>(jobs: ReadonlyMap<string, readonly string[]>, add: () => Promise<T>): Promise<T> {
    const max = this.max;
    if (max === null) return add();
    // Turns are taken in name order, so two calls over the same schedulers cannot wait on each
    // other.
    const schedulers = [...jobs.keys()].sort();
    const run = async (i: number): Promise<T> => {
      const s = schedulers[i];
      if (s === undefined) return add();
      return this.inTurn(s, async () => {
        await this.checkRoom(s, jobs.get(s) ?? [], max);
        return run(i + 1);
      });
    };
    return run(0);
  }

  private async checkRoom(scheduler: string, ids: readonly string[], max: number): Promise<void> {
    const held = await this.store.countJobs(scheduler);
    if (held + ids.length <= max) return;
    const found = await Promise.all(ids.map((id) => this.store.getJob(scheduler, id)));
    const added = found.filter((j) => j === null).length;
    if (held + added <= max) return;
    this.refused();
    const subject = `scheduler:${scheduler}`;
    throw new QuotaExceededError(
      `scheduler ${JSON.stringify(scheduler)} may hold at most ${String(max)} jobs: it holds ${String(held)} and the call adds ${String(added)} (remove jobs first)`,
      [{ subject, description: `jobs per scheduler: ${String(max)}` }],
    );
  }

  /** Runs `fn` after the adds to `scheduler` queued before it on this node. */
  private async inTurn<T>(scheduler: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(scheduler) ?? Promise.resolve();
    let done: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = before.then(() => mine);
    this.tails.set(scheduler, tail);
    await before;
    try {
      return await fn();
    } finally {
      done();
      if (this.tails.get(scheduler) === tail) this.tails.delete(scheduler);
    }
  }
}
