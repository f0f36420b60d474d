/**
 * The firing loop's pass: claim due jobs and turn their fire times into runs. A node claims
 * LOOKAHEAD_MS ahead, so that when a fire time comes only the hand-out to a worker is left to do
 * (a burst of 1,000 jobs due at one instant takes a few hundred milliseconds to claim on a small
 * machine); a job changed meanwhile has its prepared runs withdrawn (JobStore.updateJob). Reads
 * show a job's first prepared fire time while it has not come, and a job whose trigger ended
 * stays until its last run is due (domain/prepared-runs.ts).
 */
import type { Clock } from "../clock.js";
import type { JobPlan } from "../domain/claim-plan.js";
import { jobEvent, runEvents } from "../domain/events.js";
import type { Job } from "../domain/jobs.js";
import { keepingPrepared } from "../domain/prepared-runs.js";
import { planFires, type Run } from "../domain/runs.js";
import { compileTrigger, TriggerSearchExhaustedError } from "../domain/triggers/index.js";
import type { Logger } from "../logger.js";
import type { FiringStore } from "../store/port.js";
import { newRunId } from "./ids.js";

/** How far ahead a node claims due jobs and prepares their runs. */
export const LOOKAHEAD_MS = 2000;
/**
 * Fire times are claimed in slices this long: when the next due job is just beyond the
 * lookahead, the next pass waits until the slice after it has come into the lookahead as well.
 * Jobs due at times spread over the second are so claimed a few times a second, many per claim,
 * instead of a claim every few milliseconds for the few jobs that just came into the lookahead
 * (1,000 jobs a second spread over the second made 109 claims a second of ~10 jobs each, each a
 * transaction of several round trips). A run is still prepared at least
 * LOOKAHEAD_MS − CLAIM_SLICE_MS before its fire time.
 */
export const CLAIM_SLICE_MS = 250;
/** When a due job is locked by another node, look again this soon instead of spinning. */
const BUSY_RETRY_MS = 20;
/**
 * A drain (claims that each took a full batch, one after another) goes on from where the last
 * claim stopped (ClaimRequest.after) for at most this long; then a claim looks from the start
 * of the due range again, so that a job that became due before the drain's position (changed
 * on another node) waits at most this much longer. A change on this node starts over at once.
 */
const DRAIN_MS = CLAIM_SLICE_MS;

/** Why a job whose trigger this version cannot compile is paused. */
const UNREADABLE = "its trigger cannot be read by this version";

export interface FiringConfig {
  readonly nodeId: string;
  readonly pollIntervalMs: number;
  /** Jobs claimed per operation. */
  readonly claimBatch: number;
}

export interface FiringHooks {
  /** Runs were created pending: dispatch may hand them out. */
  readonly runsPending: () => void;
  /** After each claim (job_at_risk checks). */
  readonly claimed: (runs: readonly Run[], paused: readonly string[], now: number) => Promise<void>;
}

export class Firing {
  /** The drain under way: where the next claim starts, and since when it goes on. */
  private drain: { after: number; since: number } | undefined;

  constructor(
    private readonly store: Pick<FiringStore, "claimDueJobs" | "nextDueTime">,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: FiringConfig,
    private readonly hooks: FiringHooks,
  ) {}

  /** One claim; answers when to look again (a clock time). */
  async pass(): Promise<number> {
    const now = this.clock.now();
    const batch = this.config.claimBatch;
    const nodeId = this.config.nodeId;
    const t0 = performance.now();
    const drain = this.drain;
    const after =
      drain !== undefined && now >= drain.since && now - drain.since < DRAIN_MS
        ? drain.after
        : undefined;
    this.drain = undefined;
    // Why each job that cannot be planned is paused, for its event.
    const unplannable = new Map<Job, string>();
    const claimed = await this.store.claimDueJobs(
      {
        horizon: now + LOOKAHEAD_MS,
        limit: batch,
        plan: (job) => this.plan(job, now, unplannable),
        ...(after === undefined ? {} : { after }),
      },
      (c) => [
        ...runEvents(c.runs, this.clock.now(), nodeId),
        ...c.ended.map((job) =>
          jobEvent(
            "job_removed",
            job,
            now,
            nodeId,
            job.trigger.type === "date" ? "date trigger fired" : "no fire time left",
          ),
        ),
        ...c.broken.map((job) =>
          jobEvent(
            "job_modified",
            job,
            now,
            nodeId,
            `paused: ${unplannable.get(job) ?? UNREADABLE}`,
          ),
        ),
      ],
    );
    if (claimed.ignored > 0)
      this.log.warn(
        { runs: claimed.ignored },
        "fire times already had runs (the unique key kept them once)",
      );
    if (claimed.jobs > 0)
      this.log.debug(
        { jobs: claimed.jobs, runs: claimed.runs.length, ms: Math.round(performance.now() - t0) },
        "claimed due jobs",
      );
    if (claimed.runs.some((r) => r.status === "pending")) this.hooks.runsPending();
    if (claimed.runs.length > 0) this.logDecisions(claimed.runs);
    await this.hooks.claimed(claimed.runs, claimed.paused, now);
    if (claimed.jobs === batch) {
      // More may be due: the next claim goes on from here.
      if (claimed.through !== undefined)
        this.drain = {
          after: claimed.through,
          since: after === undefined ? now : (drain?.since ?? now),
        };
      return now;
    }
    const due = await this.store.nextDueTime(claimed.paused);
    const poll = now + this.config.pollIntervalMs;
    if (due === null) return poll;
    // A due job we could not claim is locked by another node: look again shortly.
    if (due <= now + LOOKAHEAD_MS) return now + BUSY_RETRY_MS;
    return Math.min(due - LOOKAHEAD_MS + CLAIM_SLICE_MS, poll);
  }

  /**
   * A job changed (its next run time, or unknown): if it may lie before the drain's position,
   * the next claim looks from the start of the due range.
   */
  restart(nextRunTime?: number): void {
    if (nextRunTime === undefined || (this.drain !== undefined && nextRunTime < this.drain.after))
      this.drain = undefined;
  }

  /**
   * A job's fire times up to the lookahead as runs, with what it keeps of the runs prepared
   * ahead (keepingPrepared); null (the job is paused) when unplannable.
   */
  private plan(job: Job, now: number, unplannable: Map<Job, string>): JobPlan | null {
    // Its trigger ended with its last run prepared ahead, and that run is due now: the job is
    // removed (its next run time was where this claim would start, not a fire time).
    if (job.lastFirePrepared === true) return { runs: [], nextRunTime: null };
    try {
      const trigger = compileTrigger(job.trigger);
      const fires = planFires(job, trigger, {
        now,
        horizon: now + LOOKAHEAD_MS,
        newId: newRunId,
      });
      return keepingPrepared(job, trigger, fires, now, LOOKAHEAD_MS);
    } catch (err) {
      this.log.error(
        { err, scheduler: job.scheduler, jobId: job.id },
        "job cannot be planned: paused",
      );
      // An `and` whose search for a common fire time ran out says so (naming the `and`); any
      // other error is a trigger this version cannot read (one a newer version stored).
      unplannable.set(job, err instanceof TriggerSearchExhaustedError ? err.message : UNREADABLE);
      return null;
    }
  }

  private logDecisions(runs: readonly Run[]): void {
    if (!this.log.isLevelEnabled("trace")) return;
    for (const r of runs)
      this.log.trace(
        {
          runId: r.id,
          scheduler: r.scheduler,
          jobId: r.jobId,
          status: r.status,
          reason: r.statusReason,
        },
        "fire time handled",
      );
  }
}
