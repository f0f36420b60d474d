/**
 * Fences: what `SELECT … FOR UPDATE` is to a SQL change that must not race the engine. An
 * operation that changes a job or a whole scheduler while other nodes keep claiming its jobs and
 * handing out its runs (RemoveAllJobs on a busy scheduler, a change of a job that fires every
 * second) would otherwise conflict with them on every attempt. It first puts up a fence
 * (`{sched:S}:fence` for the scheduler, `{sched:S}:fence:<job>` for one job: a key holding the
 * operation's token, expiring by itself after FENCE_MS); the claims' and hand-outs' first steps
 * (scripts/reserve-jobs.ts, reserve-runs.ts) pass fenced jobs and runs by, as SQL skips locked
 * rows. Claims and hand-outs already under way commit or conflict as before, so the fenced
 * operation meets at most their last commits and then reads what stays still. The fence only
 * spreads the work: the revisions still decide (a fence that lapsed costs a retry, never
 * correctness). It comes down when the operation ends, or lapses if its node dies.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "./db.js";
import { DROP_FENCES } from "./scripts/fences.js";

/** How long a fence stands without its operation renewing it (ms). */
export const FENCE_MS = 2000;

export class Fence {
  private readonly token = randomUUID();
  private up = false;

  constructor(
    private readonly db: Db,
    /** The fence keys (Keys.sched(S, "fence") or Keys.sched(S, `fence:<job>`)). */
    private readonly keys: readonly string[],
  ) {}

  /** Puts the fence up, or renews it for another FENCE_MS. */
  async raise(): Promise<void> {
    this.up = true;
    await this.db.batch((pipe) => {
      for (const k of this.keys) pipe.set(k, this.token, "PX", FENCE_MS);
    });
  }

  /** Takes the fence down if it is still this one's (best effort: else it lapses). */
  async drop(): Promise<void> {
    if (!this.up) return;
    this.up = false;
    await this.db.run(DROP_FENCES, { keys: this.keys, token: this.token }).catch(() => undefined);
  }

  /** `work` with this fence taken down afterwards, however it ends. */
  async around<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.drop();
    }
  }
}

/** The fence of scheduler `s`'s jobs and runs. */
export const schedulerFence = (db: Db, s: string): Fence =>
  new Fence(db, [db.keys.sched(s, "fence")]);

/** The fence of one job and its runs. */
export const jobFence = (db: Db, s: string, job: string): Fence =>
  new Fence(db, [db.keys.sched(s, `fence:${job}`)]);
