/**
 * `metronome jobs list|get|add|pause|resume|remove|run|reschedule|preview`: a scheduler's jobs,
 * through the SDK's typed JobService and TriggerService clients.
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { NotFoundError, PermissionDeniedError, type MetronomeClient } from "@metronome/sdk";
import {
  ConflictPolicy,
  JobOrder,
  JobSchema,
  RunSchema,
  type Job,
  type Trigger as PbTrigger,
} from "@metronome/sdk/api";
import { sdk, withClient, withClientFlags, type ClientFlags } from "./connection.js";
import { CliError } from "./exit.js";
import { exactSeconds, fields, json, note, table, when, type Out } from "./output.js";
import { runRow, RUN_HEADER } from "./runs.js";
import {
  describeTrigger,
  TRIGGER_FLAGS,
  triggerFromFlags,
  triggerRange,
  type TriggerFlags,
} from "./triggers.js";
import { parseDuration, parseInstant, parseInteger, parseJson } from "./values.js";

interface JobFlags extends ClientFlags {
  readonly scheduler: string;
}

const ms = (t: Parameters<typeof timestampMs>[0] | undefined): number | null =>
  t === undefined ? null : timestampMs(t);

const JOB_HEADER = ["id", "handler", "trigger", "next run", "paused", "workers"];

function jobRow(j: Job) {
  return [
    j.id,
    j.handler,
    describeTrigger(j.trigger),
    when(ms(j.nextRunTime)),
    j.paused ? "yes" : "no",
    j.workerCount ?? "-",
  ];
}

export function printJob(out: Out, j: Job, asJson: boolean): void {
  if (asJson) {
    out.line(json(toJson(JobSchema, j), 2));
    return;
  }
  const grace = j.misfireGraceTime?.value;
  const { startDate, endDate } = triggerRange(j.trigger);
  const jitter = j.trigger?.jitter;
  fields(out, [
    ["id", j.id],
    ["scheduler", j.scheduler],
    ["name", j.name],
    ["handler", j.handler],
    ["trigger", describeTrigger(j.trigger)],
    // The trigger's range and jitter, when it has them.
    ...(startDate === null ? [] : [["start date", when(startDate)] as const]),
    ...(endDate === null ? [] : [["end date", when(endDate)] as const]),
    ...(jitter === undefined ? [] : [["jitter", exactSeconds(jitter)] as const]),
    ["next run", j.paused ? "paused" : when(ms(j.nextRunTime))],
    ["workers", j.workerCount ?? "-"],
    ["args", j.argsJson === "" ? "[]" : j.argsJson],
    ["kwargs", j.kwargsJson === "" ? "{}" : j.kwargsJson],
    ["coalesce", j.coalesce],
    ["max instances", j.maxInstances],
    [
      "misfire grace",
      grace?.case === "noLimit"
        ? "no limit"
        : grace?.case === "duration"
          ? exactSeconds(grace.value)
          : "-",
    ],
    ["timeout", j.timeout === undefined ? "none" : exactSeconds(j.timeout)],
    [
      "retry",
      j.retryPolicy === undefined ? "none" : `up to ${String(j.retryPolicy.maxAttempts)} attempts`,
    ],
    ["version", j.version.toString()],
    ["created", when(ms(j.createdAt))],
    ["updated", when(ms(j.updatedAt))],
    ["modified by", j.modifiedBy === "" ? "-" : j.modifiedBy],
  ]);
}

function jobOf(res: { job?: Job | undefined }): Job {
  if (res.job === undefined) throw new CliError("the server answered without the job", 1);
  return res.job;
}

function schedulerFlag(cmd: Command): Command {
  return cmd.option("-s, --scheduler <name>", "the scheduler", "default");
}

function withTriggerFlags(cmd: Command): Command {
  for (const [flag, description] of TRIGGER_FLAGS) cmd.option(flag, description);
  return cmd;
}

/** A leaf command: scheduler and client flags. */
function leaf(parent: Command, name: string, description: string): Command {
  return withClientFlags(schedulerFlag(parent.command(name).description(description)));
}

export function jobsCommand(
  program: Command,
  out: Out,
  run: (a: () => Promise<void>) => Promise<void>,
): void {
  const jobs = program.command("jobs").description("list, inspect, add and control jobs");

  leaf(jobs, "list", "list the jobs of a scheduler")
    .option("--handler <name>", "only jobs of this handler")
    .option("--paused", "only paused jobs")
    .option("--active", "only jobs that are not paused")
    .option("--prefix <id>", "only jobs whose id starts with this")
    .option("--name-prefix <name>", "only jobs whose name starts with this")
    .option("--order <order>", "id or next_run_time", "id")
    .option("--limit <n>", "at most this many jobs", "1000")
    .action(
      (
        o: JobFlags & {
          handler?: string;
          paused?: boolean;
          active?: boolean;
          prefix?: string;
          namePrefix?: string;
          order: string;
          limit: string;
        },
      ) =>
        run(() =>
          withClient(o, async (c) => {
            if (o.paused === true && o.active === true)
              throw new CliError("give --paused or --active, not both");
            if (o.order !== "id" && o.order !== "next_run_time")
              throw new CliError(`--order: expected id or next_run_time, got "${o.order}"`);
            const limit = parseInteger("--limit", o.limit, 1, 1_000_000);
            // One job more than the limit is read, to tell whether the limit cut the list.
            const found: Job[] = [];
            let pageToken = "";
            do {
              const page = await sdk(
                c.jobs.listJobs(
                  {
                    scheduler: o.scheduler,
                    handler: o.handler ?? "",
                    ...(o.paused === true
                      ? { paused: true }
                      : o.active === true
                        ? { paused: false }
                        : {}),
                    idPrefix: o.prefix ?? "",
                    namePrefix: o.namePrefix ?? "",
                    orderBy: o.order === "id" ? JobOrder.ID : JobOrder.NEXT_RUN_TIME,
                    pageSize: Math.min(500, limit + 1 - found.length),
                    pageToken,
                  },
                  { headers: c.headers },
                ),
              );
              found.push(...page.jobs);
              pageToken = page.nextPageToken;
            } while (pageToken !== "" && found.length <= limit);
            const cut = found.length > limit;
            if (cut) found.length = limit;
            if (o.json === true) out.line(json(found.map((j) => toJson(JobSchema, j))));
            else table(out, JOB_HEADER, found.map(jobRow));
            if (cut)
              note(`listed the first ${String(limit)} jobs; more match (--limit N lists more)`);
          }),
        ),
    );

  leaf(jobs, "get", "show a job and its last runs")
    .argument("<id>", "the job id")
    .option("--runs <n>", "how many of its last runs to show", "5")
    .action((id: string, o: JobFlags & { runs: string }) =>
      run(() =>
        withClient(o, async (c) => {
          const n = parseInteger("--runs", o.runs, 0, 1000);
          const job = jobOf(
            await sdk(c.jobs.getJob({ scheduler: o.scheduler, jobId: id }, { headers: c.headers })),
          );
          const runs =
            n === 0
              ? []
              : (
                  await sdk(
                    c.runs.listRuns(
                      { scheduler: o.scheduler, jobId: id, pageSize: n },
                      { headers: c.headers },
                    ),
                  )
                ).runs;
          if (o.json === true) {
            out.line(
              json({ job: toJson(JobSchema, job), runs: runs.map((r) => toJson(RunSchema, r)) }, 2),
            );
            return;
          }
          printJob(out, job, false);
          if (n > 0) {
            out.line("");
            out.line("last runs:");
            table(out, RUN_HEADER, runs.map(runRow));
          }
        }),
      ),
    );

  withTriggerFlags(
    leaf(jobs, "add", "add a job: metronome jobs add HANDLER --cron 'hour=2,minute=30' --id daily"),
  )
    .argument("<handler>", "the handler workers registered, e.g. reports.daily")
    .option("--id <id>", "the job id (default: generated)")
    .option("--name <name>", "a name for people (default: the handler)")
    .option("--args <json>", "positional arguments, a JSON array")
    .option("--kwargs <json>", "keyword arguments, a JSON object")
    .option("--max-instances <n>", "runs of the job at once (default: the scheduler's)")
    .option("--coalesce", "several overdue fire times become one run")
    .option("--no-coalesce", "every overdue fire time becomes a run")
    .option("--misfire-grace-time <duration>", "how late a run may start; none = no limit")
    .option("--timeout <duration>", "the longest one attempt may run")
    .option("--paused", "add it paused")
    .option("--replace", "replace a job with the same id instead of failing")
    .action(
      (
        handler: string,
        o: JobFlags &
          TriggerFlags & {
            id?: string;
            name?: string;
            args?: string;
            kwargs?: string;
            maxInstances?: string;
            coalesce?: boolean;
            misfireGraceTime?: string;
            timeout?: string;
            paused?: boolean;
            replace?: boolean;
          },
      ) =>
        run(async () => {
          const trigger = triggerFromFlags(o, true);
          const grace = o.misfireGraceTime;
          const job = {
            scheduler: o.scheduler,
            id: o.id ?? "",
            name: o.name ?? "",
            handler,
            trigger: trigger?.toProto(),
            argsJson:
              o.args === undefined ? "" : JSON.stringify(parseJson("--args", o.args, "array")),
            kwargsJson:
              o.kwargs === undefined
                ? ""
                : JSON.stringify(parseJson("--kwargs", o.kwargs, "object")),
            ...(o.coalesce === undefined ? {} : { coalesce: o.coalesce }),
            ...(o.maxInstances === undefined
              ? {}
              : { maxInstances: parseInteger("--max-instances", o.maxInstances, 1, 10_000) }),
            ...(grace === undefined
              ? {}
              : {
                  misfireGraceTime:
                    grace === "none"
                      ? { value: { case: "noLimit" as const, value: true } }
                      : {
                          value: {
                            case: "duration" as const,
                            value: seconds(parseDuration("--misfire-grace-time", grace)),
                          },
                        },
                }),
            ...(o.timeout === undefined
              ? {}
              : { timeout: seconds(parseDuration("--timeout", o.timeout)) }),
            paused: o.paused === true,
          };
          await withClient(o, async (c) => {
            const res = await sdk(
              c.jobs.addJob(
                {
                  job,
                  conflictPolicy:
                    o.replace === true ? ConflictPolicy.REPLACE : ConflictPolicy.ERROR,
                },
                { headers: c.headers },
              ),
            );
            for (const w of res.warnings) process.stderr.write(`metronome: warning: ${w}\n`);
            printJob(out, jobOf(res), o.json === true);
          });
        }),
    );

  for (const [name, description] of [
    ["pause", "pause a job: no runs until resumed"],
    ["resume", "resume a job: its next fire time counts from now"],
  ] as const)
    leaf(jobs, name, description)
      .argument("<id>", "the job id")
      .action((id: string, o: JobFlags) =>
        run(() =>
          withClient(o, async (c) => {
            const req = { scheduler: o.scheduler, jobId: id };
            const res: { job?: Job | undefined } = await sdk<{ job?: Job | undefined }>(
              name === "pause"
                ? c.jobs.pauseJob(req, { headers: c.headers })
                : c.jobs.resumeJob(req, { headers: c.headers }),
            );
            printJob(out, jobOf(res), o.json === true);
          }),
        ),
      );

  leaf(jobs, "remove", "remove a job (its pending runs are cancelled; running ones finish)")
    .argument("<id>", "the job id")
    .action((id: string, o: JobFlags) =>
      run(() =>
        withClient(o, async (c) => {
          await sdk(
            c.jobs.removeJob({ scheduler: o.scheduler, jobId: id }, { headers: c.headers }),
          );
          if (o.json === true) out.line(json({ removed: true, scheduler: o.scheduler, jobId: id }));
          else out.line(`removed job ${id} of scheduler ${o.scheduler}`);
        }),
      ),
    );

  leaf(jobs, "run", "run a job now, outside its schedule")
    .argument("<id>", "the job id")
    .action((id: string, o: JobFlags) =>
      run(() =>
        withClient(o, async (c) => {
          const res = await sdk(
            c.jobs.runJobNow({ scheduler: o.scheduler, jobId: id }, { headers: c.headers }),
          );
          if (res.run === undefined) throw new CliError("the server answered without the run", 1);
          if (o.json === true) out.line(json(toJson(RunSchema, res.run), 2));
          else table(out, RUN_HEADER, [runRow(res.run)]);
        }),
      ),
    );

  withTriggerFlags(leaf(jobs, "reschedule", "give a job a new trigger"))
    .argument("<id>", "the job id")
    .action((id: string, o: JobFlags & TriggerFlags) =>
      run(async () => {
        const trigger = triggerFromFlags(o, true);
        await withClient(o, async (c) => {
          const res = await sdk(
            c.jobs.rescheduleJob(
              { scheduler: o.scheduler, jobId: id, trigger: trigger?.toProto() },
              { headers: c.headers },
            ),
          );
          for (const w of res.warnings) process.stderr.write(`metronome: warning: ${w}\n`);
          printJob(out, jobOf(res), o.json === true);
        });
      }),
    );

  withTriggerFlags(
    leaf(
      jobs,
      "preview",
      "the next fire times of a job (or of the trigger the flags give), storing nothing",
    ),
  )
    .argument("[id]", "the job id (omit to preview the trigger of the flags)")
    .option("--count <n>", "how many fire times", "10")
    .option("--after <time>", "from this time (default: now)")
    .action(
      (id: string | undefined, o: JobFlags & TriggerFlags & { count: string; after?: string }) =>
        run(async () => {
          const count = parseInteger("--count", o.count, 1, 100);
          const after =
            o.after === undefined ? undefined : timestampFromMs(parseInstant("--after", o.after));
          const flagged = triggerFromFlags(o, id === undefined);
          if (id !== undefined && flagged !== null)
            throw new CliError("give a job id or trigger flags, not both");
          await withClient(o, async (c) => {
            let trigger:
              PbTrigger | ReturnType<NonNullable<typeof flagged>["toProto"]> | undefined =
              flagged?.toProto();
            if (id !== undefined)
              trigger = jobOf(
                await sdk(
                  c.jobs.getJob({ scheduler: o.scheduler, jobId: id }, { headers: c.headers }),
                ),
              ).trigger;
            // A trigger's own zone wins; the scheduler's is only the default for one without.
            const timezone =
              flagged !== null && o.timezone !== undefined
                ? ""
                : await schedulerZone(c, o.scheduler);
            const res = await sdk(
              c.triggers.previewTrigger(
                { trigger, timezone, count, after },
                { headers: c.headers },
              ),
            );
            const times = res.fireTimes.map((t) => when(timestampMs(t)));
            if (o.json === true) out.line(json(times));
            else if (times.length === 0) out.line("(no fire time left)");
            else for (const t of times) out.line(t);
          });
        }),
    );
}

/** The scheduler's time zone (UTC when it does not exist yet: it would be created with defaults). */
async function schedulerZone(c: MetronomeClient, name: string): Promise<string> {
  try {
    const res = await sdk(c.schedulers.getScheduler({ name }, { headers: c.headers }));
    return res.scheduler?.timezone ?? "";
  } catch (err) {
    // No such scheduler: UTC, as PreviewTrigger takes no zone.
    if (err instanceof NotFoundError) return "";
    // PreviewTrigger needs no scope; reading the scheduler does. Without it, say so and go on.
    if (err instanceof PermissionDeniedError) {
      process.stderr.write(
        `metronome: warning: cannot read scheduler ${JSON.stringify(name)} for its time zone; previewing in UTC (give --timezone)\n`,
      );
      return "";
    }
    throw err;
  }
}

function seconds(msValue: number) {
  return { seconds: BigInt(Math.floor(msValue / 1000)), nanos: (msValue % 1000) * 1_000_000 };
}
