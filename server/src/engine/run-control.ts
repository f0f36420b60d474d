/**
 * What operators do to runs through the API: run a job now, cancel a run, read runs, and withdraw
 * the runs prepared before a scheduler's pause when it resumes.
 */
import type { Clock } from "../clock.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { byActor, runEvents } from "../domain/events.js";
import { manualRun, type Run } from "../domain/runs.js";
import { compileTrigger } from "../domain/triggers/index.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import type { FiringStore, ListRunsQuery, RunStore, SchedulerStore } from "../store/port.js";
import type { AtRisk } from "./at-risk.js";
import { currentActor } from "../lib/actor.js";
import { newRunId } from "./ids.js";

export type RunControlStore = Pick<FiringStore, "createManualRun" | "withdrawPreparedRuns"> &
  Pick<RunStore, "cancelRun" | "getRun" | "listRuns"> &
  Pick<SchedulerStore, "getScheduler">;

export class RunControl {
  constructor(
    private readonly store: RunControlStore,
    private readonly dispatch: Pick<Dispatcher, "wake" | "runsMade" | "cancelled">,
    private readonly atRisk: Pick<AtRisk, "manualRun">,
    private readonly clock: Clock,
    private readonly nodeId: string,
  ) {}

  /**
   * A manual run of the job, recording the call's actor as who asked for it. A paused scheduler
   * creates no runs (SPEC), manual ones included: refused with FAILED_PRECONDITION rather than
   * accepted as a run no worker is given until the scheduler resumes (it would end missed).
   * A job paused on its own still runs now.
   */
  async runNow(scheduler: string, jobId: string): Promise<Run> {
    if ((await this.store.getScheduler(scheduler))?.paused === true)
      throw new FailedPreconditionError(
        `scheduler ${JSON.stringify(scheduler)} is paused and creates no runs: resume it, or pause only the jobs that must not run`,
      );
    const actor = currentActor();
    const run = await this.store.createManualRun(scheduler, jobId, (job, shift) => {
      const now = this.clock.now() + shift;
      const made = manualRun(job, compileTrigger(job.trigger), { now, newId: newRunId });
      return actor === undefined ? made : { ...made, triggeredBy: actor };
    });
    if (run === null)
      throw new NotFoundError(
        `job ${JSON.stringify(jobId)} in scheduler ${JSON.stringify(scheduler)}`,
      );
    if (run.status === "pending") {
      this.dispatch.runsMade([run]);
      this.dispatch.wake();
      await this.atRisk.manualRun(run);
    }
    return run;
  }

  /**
   * Cancels a run. `allowed` sees the run inside the cancel's transaction and may throw (the
   * caller's key may not change its scheduler): then nothing changes.
   */
  async cancel(
    runId: string,
    reason: string,
    allowed: (run: Run) => void = () => undefined,
  ): Promise<Run> {
    const now = this.clock.now();
    const out = await this.store.cancelRun(now, runId, reason, (o) => {
      if (o.kind !== "not_found") allowed(o.run);
      return o.kind === "cancelled" && o.changed
        ? byActor(runEvents([o.run], this.clock.now(), this.nodeId), currentActor())
        : [];
    });
    if (out.kind === "not_found") throw new NotFoundError(`run ${runId}`);
    if (out.kind === "final")
      throw new FailedPreconditionError(`run ${runId} has already ended (${out.run.status})`);
    // The worker is told at once if its session is on this node, else by its node's next sweep.
    if (out.wasRunning) this.dispatch.cancelled(runId, out.run.statusReason);
    return out.run;
  }

  async getRun(runId: string): Promise<Run> {
    const run = await this.store.getRun(runId);
    if (run === null) throw new NotFoundError(`run ${runId}`);
    return run;
  }

  listRuns(query: ListRunsQuery): Promise<Run[]> {
    return this.store.listRuns(query);
  }

  /**
   * A paused scheduler's runs prepared for fire times from `since` on are withdrawn (call it
   * while it is paused): see FiringStore.withdrawPreparedRuns.
   */
  async withdrawPreparedRuns(scheduler: string, since: number): Promise<void> {
    await this.store.withdrawPreparedRuns(scheduler, since);
  }
}
