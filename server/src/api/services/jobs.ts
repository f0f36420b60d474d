/** JobService: convert, delegate to the job use cases, answer. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { Job } from "../../domain/jobs.js";
import type { TriggerWarning } from "../../domain/triggers/index.js";
import type { Engine } from "../../engine/engine.js";
import type { Logger } from "../../logger.js";
import type { ConflictPolicy as Conflict } from "../../management/job-input.js";
import type { JobManager } from "../../management/jobs.js";
import type { RunManager } from "../../management/runs.js";
import type { Job as PbJob } from "../../gen/metronome/v1/job_pb.js";
import {
  AddJobOutcome,
  ConflictPolicy,
  JobOrder,
  type JobService,
} from "../../gen/metronome/v1/job_service_pb.js";
import { jobInputFromProto, jobPatchFromProto, jobToProto } from "../convert/jobs.js";
import { pageSize } from "../convert/paging.js";
import { runToProto } from "../convert/runs.js";
import { triggerFromProto } from "../convert/triggers.js";

const CONFLICTS: Record<ConflictPolicy, Conflict> = {
  [ConflictPolicy.UNSPECIFIED]: "error",
  [ConflictPolicy.ERROR]: "error",
  [ConflictPolicy.REPLACE]: "replace",
  [ConflictPolicy.KEEP_EXISTING]: "keep_existing",
};

const OUTCOMES = {
  created: AddJobOutcome.CREATED,
  replaced: AddJobOutcome.REPLACED,
  kept: AddJobOutcome.KEPT_EXISTING,
  exists: AddJobOutcome.ALREADY_EXISTS,
} as const;

export function jobService(
  jobs: JobManager,
  runs: RunManager,
  engine: Engine,
  maxPageSize: number,
  log: Logger,
): Partial<ServiceImpl<typeof JobService>> {
  /** Logs each warning of a request (one line each) and answers them: `path: message`. */
  const warn = (
    job: Pick<Job, "scheduler" | "id"> | null,
    warnings: readonly TriggerWarning[],
  ): string[] =>
    warnings.map((w) => {
      const warning = `${w.field}: ${w.message}`;
      log.warn({ scheduler: job?.scheduler, jobId: job?.id, warning }, "trigger warning");
      return warning;
    });
  /**
   * The worker sessions serving each handler (Job.worker_count); undefined when they could not
   * be read: a change already committed is answered all the same, without the count.
   */
  const countsOf = async (
    list: readonly Job[],
    remote?: ReadonlyMap<string, number>,
  ): Promise<Map<string, number> | undefined> => {
    try {
      return await engine.workerCounts(
        list.map((j) => j.handler),
        remote,
      );
    } catch (err) {
      log.warn({ err }, "counting the workers of handlers failed; answering without the count");
      return undefined;
    }
  };
  /**
   * Jobs as answered, each with its worker count. `added`: jobs this call added or gave a new
   * handler, whose handler is logged (once) when no worker serves it.
   */
  const answer = async (
    list: readonly (Job | null)[],
    added: readonly boolean[] = [],
    remote?: ReadonlyMap<string, number>,
  ) => {
    const counts = await countsOf(
      list.filter((j) => j !== null),
      remote,
    );
    return list.map((j, i): PbJob | undefined => {
      if (j === null) return undefined;
      const n = counts === undefined ? undefined : (counts.get(j.handler) ?? 0);
      if (n === 0 && added[i] === true) engine.noteUnserved(j.handler, j);
      return jobToProto(j, n);
    });
  };
  const one = async (job: Job, added = false, remoteWorkers?: number): Promise<PbJob | undefined> =>
    (
      await answer(
        [job],
        [added],
        remoteWorkers === undefined ? undefined : new Map([[job.handler, remoteWorkers]]),
      )
    )[0];
  return {
    async addJob(req) {
      const input = jobInputFromProto(req.job, "job");
      const { job, outcome, warnings, remoteWorkers } = await jobs.addJob(
        input,
        CONFLICTS[req.conflictPolicy],
      );
      return {
        job: await one(job, outcome !== "kept", remoteWorkers),
        outcome: OUTCOMES[outcome],
        warnings: warn(job, warnings),
      };
    },

    async addJobs(req) {
      const inputs = req.jobs.map((pb, i) => jobInputFromProto(pb, `jobs[${String(i)}]`));
      const results = await jobs.addJobs(inputs, CONFLICTS[req.conflictPolicy]);
      // The counts the inserts read in their transactions (the others are read apart).
      const remote = new Map<string, number>();
      for (const r of results)
        if (r.job !== null && r.remoteWorkers !== undefined)
          remote.set(r.job.handler, r.remoteWorkers);
      const answered = await answer(
        results.map((r) => r.job),
        results.map((r) => r.outcome === "created" || r.outcome === "replaced"),
        remote,
      );
      return {
        results: results.map((r, i) => ({
          job: answered[i],
          outcome: OUTCOMES[r.outcome],
          warnings: warn(r.job, r.warnings),
        })),
      };
    },

    async getJob(req) {
      // The other nodes' sessions serving its handler come with the job where the store reads
      // both in one statement (as AddJob's come with its insert).
      const { job, remoteWorkers } = await jobs.getJobServed(req.scheduler || "default", req.jobId);
      return { job: await one(job, false, remoteWorkers) };
    },

    async listJobs(req) {
      const page = await jobs.listJobs({
        scheduler: req.scheduler || "default",
        handler: req.handler || undefined,
        paused: req.paused,
        idPrefix: req.idPrefix || undefined,
        namePrefix: req.namePrefix || undefined,
        orderBy: req.orderBy === JobOrder.NEXT_RUN_TIME ? "next_run_time" : "id",
        pageSize: pageSize(req.pageSize, maxPageSize),
        pageToken: req.pageToken || undefined,
      });
      return {
        jobs: (await answer(page.items)).filter((j) => j !== undefined),
        nextPageToken: page.nextPageToken,
      };
    },

    async modifyJob(req) {
      const patch = jobPatchFromProto(req.job, "job");
      const expected = req.expectedVersion === 0n ? undefined : Number(req.expectedVersion);
      const paths = req.updateMask?.paths ?? [];
      const { job, warnings } = await jobs.modifyJob(patch, paths, expected);
      return { job: await one(job, paths.includes("handler")), warnings: warn(job, warnings) };
    },

    async rescheduleJob(req) {
      const trigger = triggerFromProto(req.trigger, "trigger");
      const { job, warnings } = await jobs.rescheduleJob(
        req.scheduler || "default",
        req.jobId,
        trigger,
      );
      return { job: await one(job), warnings: warn(job, warnings) };
    },

    async pauseJob(req) {
      return { job: await one(await jobs.pauseJob(req.scheduler || "default", req.jobId)) };
    },

    async resumeJob(req) {
      const { job, removed } = await jobs.resumeJob(req.scheduler || "default", req.jobId);
      return { job: await one(job), removed };
    },

    async removeJob(req) {
      await jobs.removeJob(req.scheduler || "default", req.jobId);
      return {};
    },

    async removeAllJobs(req) {
      return { removedCount: BigInt(await jobs.removeAllJobs(req.scheduler || "default")) };
    },

    async runJobNow(req) {
      return { run: runToProto(await runs.runJobNow(req.scheduler || "default", req.jobId)) };
    },
  };
}
