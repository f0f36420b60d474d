/**
 * JobService: convert, delegate to the job use cases, answer. A binary call's jobs are answered
 * pre-encoded (convert/job-bytes.ts), a JSON call's converted.
 */
import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Job } from "../../domain/jobs.js";
import type { TriggerWarning } from "../../domain/triggers/index.js";
import type { Engine } from "../../engine/engine.js";
import type { Logger } from "../../logger.js";
import type { ConflictPolicy as Conflict } from "../../management/job-input.js";
import type { JobManager } from "../../management/jobs.js";
import type { RunManager } from "../../management/runs.js";
import type { ListJobsQuery } from "../../store/port.js";
import type { Job as PbJob } from "../../gen/metronome/v1/job_pb.js";
import {
  AddJobOutcome,
  AddJobResponseSchema,
  AddJobResultSchema,
  ConflictPolicy,
  GetJobResponseSchema,
  JobOrder,
  ListJobsResponseSchema,
  ModifyJobResponseSchema,
  PauseJobResponseSchema,
  RescheduleJobResponseSchema,
  ResumeJobResponseSchema,
  type JobService,
} from "../../gen/metronome/v1/job_service_pb.js";
import { pageEntries, withEncodedJobs, type AnsweredJob } from "../convert/job-bytes.js";
import { jobInputFromProto, jobPatchFromProto, jobToProto } from "../convert/jobs.js";
import { pageSize } from "../convert/paging.js";
import { runToProto } from "../convert/runs.js";
import { triggerFromProto } from "../convert/triggers.js";
import { speaksJson } from "./codec.js";

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

/** An answered job as the Job message of a JSON answer. */
function converted(a: AnsweredJob): PbJob {
  return jobToProto(a.job, a.workerCount);
}

/**
 * A response of `schema` (one whose field 1 is `Job job`, as every JobService response carrying
 * one job has it) with `fields` and the answered job: pre-encoded unless the call is in JSON.
 */
function withJob<D extends DescMessage>(
  ctx: HandlerContext,
  schema: D,
  a: AnsweredJob,
  fields?: MessageInitShape<D>,
): MessageShape<D> {
  const res = create(schema, fields);
  if (!speaksJson(ctx)) return withEncodedJobs(res, [a]);
  (res as MessageShape<D> & { job?: PbJob }).job = converted(a);
  return res;
}

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
  /** A job as answered with `counts`; `added`: its handler is logged (once) when unserved. */
  const answeredWith = (
    job: Job,
    counts: ReadonlyMap<string, number> | undefined,
    added: boolean,
  ): AnsweredJob => {
    const workerCount = counts === undefined ? undefined : (counts.get(job.handler) ?? 0);
    if (workerCount === 0 && added) engine.noteUnserved(job.handler, job);
    return { job, workerCount };
  };
  /**
   * Jobs as answered, each with its worker count. `added`: jobs this call added or gave a new
   * handler, whose handler is logged (once) when no worker serves it.
   */
  const answer = async (
    list: readonly (Job | null)[],
    added: readonly boolean[] = [],
    remote?: ReadonlyMap<string, number>,
  ): Promise<(AnsweredJob | undefined)[]> => {
    const counts = await countsOf(
      list.filter((j) => j !== null),
      remote,
    );
    return list.map((job, i) =>
      job === null ? undefined : answeredWith(job, counts, added[i] === true),
    );
  };
  const one = async (job: Job, added = false, remoteWorkers?: number): Promise<AnsweredJob> => {
    const remote =
      remoteWorkers === undefined ? undefined : new Map([[job.handler, remoteWorkers]]);
    return answeredWith(job, await countsOf([job], remote), added);
  };
  return {
    async addJob(req, ctx) {
      const input = jobInputFromProto(req.job, "job");
      const { job, outcome, warnings, remoteWorkers } = await jobs.addJob(
        input,
        CONFLICTS[req.conflictPolicy],
      );
      return withJob(ctx, AddJobResponseSchema, await one(job, outcome !== "kept", remoteWorkers), {
        outcome: OUTCOMES[outcome],
        warnings: warn(job, warnings),
      });
    },

    async addJobs(req, ctx) {
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
        results: results.map((r, i) => {
          const fields = { outcome: OUTCOMES[r.outcome], warnings: warn(r.job, r.warnings) };
          const a = answered[i];
          return a === undefined ? fields : withJob(ctx, AddJobResultSchema, a, fields);
        }),
      };
    },

    async getJob(req, ctx) {
      // The other nodes' sessions serving its handler come with the job where the store reads
      // both in one statement (as AddJob's come with its insert).
      const { job, remoteWorkers } = await jobs.getJobServed(req.scheduler || "default", req.jobId);
      return withJob(ctx, GetJobResponseSchema, await one(job, false, remoteWorkers));
    },

    async listJobs(req, ctx) {
      const query: ListJobsQuery = {
        scheduler: req.scheduler || "default",
        handler: req.handler || undefined,
        paused: req.paused,
        idPrefix: req.idPrefix || undefined,
        namePrefix: req.namePrefix || undefined,
        orderBy: req.orderBy === JobOrder.NEXT_RUN_TIME ? "next_run_time" : "id",
        pageSize: pageSize(req.pageSize, maxPageSize),
        pageToken: req.pageToken || undefined,
      };
      const page = await jobs.listJobs(query);
      const answered = (await answer(page.items)).filter((a) => a !== undefined);
      // A page stays under gRPC's default message size: cut short, it continues after the last
      // job answered.
      const entries = pageEntries(answered);
      const last = answered[entries.length - 1];
      const nextPageToken =
        entries.length < answered.length && last !== undefined
          ? jobs.pageTokenAfter(query, last.job)
          : page.nextPageToken;
      const res = create(ListJobsResponseSchema, { nextPageToken });
      if (!speaksJson(ctx)) {
        res.$unknown = entries;
        return res;
      }
      res.jobs = answered.slice(0, entries.length).map(converted);
      return res;
    },

    async modifyJob(req, ctx) {
      const patch = jobPatchFromProto(req.job, "job");
      const expected = req.expectedVersion === 0n ? undefined : Number(req.expectedVersion);
      const paths = req.updateMask?.paths ?? [];
      const { job, warnings } = await jobs.modifyJob(patch, paths, expected);
      return withJob(ctx, ModifyJobResponseSchema, await one(job, paths.includes("handler")), {
        warnings: warn(job, warnings),
      });
    },

    async rescheduleJob(req, ctx) {
      const trigger = triggerFromProto(req.trigger, "trigger");
      const { job, warnings } = await jobs.rescheduleJob(
        req.scheduler || "default",
        req.jobId,
        trigger,
      );
      return withJob(ctx, RescheduleJobResponseSchema, await one(job), {
        warnings: warn(job, warnings),
      });
    },

    async pauseJob(req, ctx) {
      const job = await jobs.pauseJob(req.scheduler || "default", req.jobId);
      return withJob(ctx, PauseJobResponseSchema, await one(job));
    },

    async resumeJob(req, ctx) {
      const { job, removed } = await jobs.resumeJob(req.scheduler || "default", req.jobId);
      return withJob(ctx, ResumeJobResponseSchema, await one(job), { removed });
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
