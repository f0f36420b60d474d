/**
 * What a read shows of a job. A claim prepares the runs of its lookahead ahead of time and moves
 * the job's next run time past them; a read shows the upcoming fire time instead, the first one
 * prepared while it has not come (domain/prepared-runs.ts, upcomingFireTime). Every answer with a
 * job goes through here (the API, the SDK, the CLI and the dashboard read these answers). A
 * listing is paged by the stored position all the same (the claim's, store/paging.ts), so each job
 * a listing shows keeps its stored record beside it, for the token of a page cut short.
 */
import type { Clock } from "../clock.js";
import type { Job } from "../domain/jobs.js";
import { upcomingFireTime } from "../domain/prepared-runs.js";

export class ShownJobs {
  /** Each job a listing answered (shown) and its stored record, which holds its position. */
  private readonly listed = new WeakMap<Job, Job>();

  constructor(private readonly clock: Clock) {}

  /**
   * A job as clients see it: its next run time is the upcoming fire time, which a claim may have
   * prepared a run for ahead of time, not where the next claim starts.
   */
  job(job: Job): Job {
    const upcoming = upcomingFireTime(job, this.clock.now());
    return upcoming === job.nextRunTime ? job : { ...job, nextRunTime: upcoming };
  }

  orNull(job: Job | null): Job | null {
    return job === null ? null : this.job(job);
  }

  /** The jobs of a listing's page as clients see them, each remembering its stored record. */
  listing(jobs: readonly Job[]): Job[] {
    return jobs.map((job) => {
      const shown = this.job(job);
      if (shown !== job) this.listed.set(shown, job);
      return shown;
    });
  }

  /** The stored record of `job`, one that a listing showed (a job shown as stored is its own). */
  stored(job: Job): Job {
    return this.listed.get(job) ?? job;
  }
}
