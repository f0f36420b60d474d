/** JobService: validate, delegate to the job manager, map. */
import type { ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError } from "../../domain/errors.js";
import type { JobManager, ConflictPolicy as Conflict, PreparedJob } from "../../management/jobs.js";
import type { Job as PbJob } from "../../gen/metronome/v1/job_pb.js";
import {
  AddJobOutcome,
  ConflictPolicy,
  JobOrder,
  type JobService,
} from "../../gen/metronome/v1/job_service_pb.js";
import {
  jobInputFromProto,
  jobPatchFromProto,
  jobToProto,
  runToProto,
  triggerFromProto,
} from "../convert.js";
import { jobFields, jobRefFields, pageSize, withFields } from "./fields.js";
import type { Engine } from "../../engine/engine.js";
import { checkId, type Job } from "../../domain/jobs.js";
import { triggerWarnings, type TriggerSpec } from "../../domain/triggers/index.js";
import type { Logger } from "../../logger.js";

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

/** The most jobs one AddJobs call takes. */
const MAX_ADD_JOBS = 1000;

/** Proto field-mask paths accepted by ModifyJob, and the manager's names for them. */
const MASK_PATHS: Record<string, string> = {
  name: "name",
  handler: "handler",
  trigger: "trigger",
  args: "args",
  kwargs: "kwargs",
  args_json: "args",
  kwargs_json: "kwargs",
  coalesce: "coalesce",
  max_instances: "max_instances",
  misfire_grace_time: "misfire_grace_time",
  timeout: "timeout",
  retry_policy: "retry",
};

/**
 * The warnings of a trigger in a request, as the answer carries them: the request's field path
 * (`rename` turns the domain's `trigger.fields.day_of_week` into e.g.
 * `job.trigger.cron.day_of_week`), then the message.
 */
function warningsOf(trigger: TriggerSpec, rename: (field: string) => string): string[] {
  return triggerWarnings(trigger).map((w) => `${rename(`trigger.${w.field}`)}: ${w.message}`);
}

export function jobService(
  jobs: JobManager,
  engine: Engine,
  maxPageSize: number,
  log: Logger,
): Partial<ServiceImpl<typeof JobService>> {
  /** Logs each warning of a request (one line each) and answers them. */
  const warn = (job: Pick<Job, "scheduler" | "id"> | null, warnings: string[]): string[] => {
    for (const warning of warnings)
      log.warn({ scheduler: job?.scheduler, jobId: job?.id, warning }, "trigger warning");
    return warnings;
  };
  /**
   * The worker sessions serving each handler (Job.worker_count); undefined when they could not
   * be read: a change already committed is answered all the same, without the count.
   */
  const countsOf = async (list: readonly Job[]): Promise<Map<string, number> | undefined> => {
    try {
      return await engine.workerCounts(list.map((j) => j.handler));
    } catch (err) {
      log.warn({ err }, "counting the workers of handlers failed; answering without the count");
      return undefined;
    }
  };
  /**
   * Jobs as answered, each with its worker count. `added`: jobs this call added or gave a new
   * handler, whose handler is logged (once) when no worker serves it.
   */
  const answer = async (list: readonly Job[], added = false): Promise<PbJob[]> => {
    const counts = await countsOf(list);
    return list.map((j) => {
      const n = counts?.get(j.handler) ?? (counts === undefined ? undefined : 0);
      if (n === 0 && added) engine.noteUnserved(j.handler, j);
      return jobToProto(j, n);
    });
  };
  const one = async (job: Job, added = false): Promise<PbJob> => {
    const [pb] = await answer([job], added);
    if (pb === undefined) throw new Error("no job to answer");
    return pb;
  };
  return {
    async addJob(req) {
      if (!req.job) throw new InvalidArgumentError("job", "is required");
      const pb = req.job;
      const input = await withFields(() => jobInputFromProto(pb), jobFields("job", undefined));
      const { job, outcome } = await withFields(
        () => jobs.addJob(input, CONFLICTS[req.conflictPolicy]),
        jobFields("job", input.trigger),
      );
      const warnings = warn(job, warningsOf(input.trigger, jobFields("job", input.trigger)));
      return { job: await one(job, outcome !== "kept"), outcome: OUTCOMES[outcome], warnings };
    },

    async addJobs(req) {
      if (req.jobs.length === 0 || req.jobs.length > MAX_ADD_JOBS)
        throw new InvalidArgumentError("jobs", `must hold 1 to ${String(MAX_ADD_JOBS)} jobs`);
      const prepared: PreparedJob[] = [];
      const seen = new Map<string, number>();
      for (const [i, pb] of req.jobs.entries()) {
        const prefix = `jobs[${String(i)}]`;
        const input = await withFields(() => jobInputFromProto(pb), jobFields(prefix, undefined));
        const p = await withFields(() => jobs.prepareJob(input), jobFields(prefix, input.trigger));
        const key = `${p.scheduler.name}\u0000${p.id}`;
        const first = seen.get(key);
        if (first !== undefined)
          throw new InvalidArgumentError(`${prefix}.id`, `repeats jobs[${String(first)}].id`);
        seen.set(key, i);
        prepared.push(p);
      }
      const results = await jobs.addJobs(prepared, CONFLICTS[req.conflictPolicy]);
      const counts = await countsOf(results.flatMap((r) => (r.job === null ? [] : [r.job])));
      return {
        results: results.map((r, i) => {
          const trigger = prepared[i]?.input.trigger;
          const n =
            r.job === null || counts === undefined ? undefined : (counts.get(r.job.handler) ?? 0);
          if (r.job !== null && n === 0 && (r.outcome === "created" || r.outcome === "replaced"))
            engine.noteUnserved(r.job.handler, r.job);
          return {
            job: r.job === null ? undefined : jobToProto(r.job, n),
            outcome: OUTCOMES[r.outcome],
            warnings:
              trigger === undefined
                ? []
                : warn(r.job, warningsOf(trigger, jobFields(`jobs[${String(i)}]`, trigger))),
          };
        }),
      };
    },

    async getJob(req) {
      const job = await withFields(
        () => jobs.getJob(req.scheduler || "default", req.jobId),
        jobRefFields,
      );
      return { job: await one(job) };
    },

    async listJobs(req) {
      const page = await withFields(
        () =>
          jobs.listJobs({
            scheduler: req.scheduler || "default",
            handler: req.handler || undefined,
            paused: req.paused,
            idPrefix: req.idPrefix || undefined,
            namePrefix: req.namePrefix || undefined,
            orderBy: req.orderBy === JobOrder.NEXT_RUN_TIME ? "next_run_time" : "id",
            pageSize: pageSize(req.pageSize, maxPageSize),
            pageToken: req.pageToken || undefined,
          }),
        (f) => f,
      );
      return { jobs: await answer(page.items), nextPageToken: page.nextPageToken };
    },

    async modifyJob(req) {
      if (!req.job) throw new InvalidArgumentError("job", "is required");
      const paths = req.updateMask?.paths ?? [];
      if (paths.length === 0)
        throw new InvalidArgumentError(
          "update_mask",
          `is required: name at least one of ${Object.keys(MASK_PATHS).join(", ")}`,
        );
      const mask = paths.map((p) => {
        const name = MASK_PATHS[p];
        if (name === undefined)
          throw new InvalidArgumentError(
            "update_mask",
            `cannot modify ${JSON.stringify(p)}; modifiable: ${Object.keys(MASK_PATHS).join(", ")}`,
          );
        return name;
      });
      const pb = req.job;
      const needsTrigger = mask.includes("trigger");
      if (needsTrigger && pb.trigger === undefined)
        throw new InvalidArgumentError("job.trigger", "cannot be unset");
      if (mask.includes("handler") && pb.handler === "")
        throw new InvalidArgumentError("job.handler", "cannot be unset");
      const input = await withFields(() => jobPatchFromProto(pb), jobFields("job", undefined));
      const expected = req.expectedVersion === 0n ? undefined : Number(req.expectedVersion);
      const job = await withFields(
        () => jobs.modifyJob(pb.scheduler || "default", pb.id, input, mask, expected),
        (f) => (f === "id" ? "job.id" : jobFields("job", input.trigger)(f)),
      );
      const warnings =
        needsTrigger && input.trigger !== undefined
          ? warn(job, warningsOf(input.trigger, jobFields("job", input.trigger)))
          : [];
      return { job: await one(job, mask.includes("handler")), warnings };
    },

    async rescheduleJob(req) {
      const trigger = await withFields(
        () => triggerFromProto(req.trigger, "trigger"),
        (f) => f,
      );
      const job = await withFields(
        () => jobs.rescheduleJob(req.scheduler || "default", req.jobId, trigger),
        (f) =>
          f.startsWith("trigger")
            ? jobFields("job", trigger)(f).slice("job.".length)
            : jobRefFields(f),
      );
      const warnings = warn(
        job,
        warningsOf(trigger, (f) => jobFields("job", trigger)(f).slice("job.".length)),
      );
      return { job: await one(job), warnings };
    },

    async pauseJob(req) {
      const job = await withFields(
        () => jobs.pauseJob(req.scheduler || "default", req.jobId),
        jobRefFields,
      );
      return { job: await one(job) };
    },

    async resumeJob(req) {
      const { job, removed } = await withFields(
        () => jobs.resumeJob(req.scheduler || "default", req.jobId),
        jobRefFields,
      );
      return { job: await one(job), removed };
    },

    async removeJob(req) {
      await withFields(() => jobs.removeJob(req.scheduler || "default", req.jobId), jobRefFields);
      await engine.jobRemoved(req.scheduler || "default", req.jobId);
      return {};
    },

    async removeAllJobs(req) {
      const n = await withFields(
        () => jobs.removeAllJobs(req.scheduler || "default"),
        jobRefFields,
      );
      await engine.jobRemoved(req.scheduler || "default", null);
      return { removedCount: BigInt(n) };
    },

    async runJobNow(req) {
      const scheduler = checkId(req.scheduler || "default", "scheduler");
      const jobId = checkId(req.jobId, "job_id");
      return { run: runToProto(await engine.runNow(scheduler, jobId)) };
    },
  };
}
