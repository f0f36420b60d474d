/**
 * `metronome runs list|get|cancel`: run history (filters by job, status and time) and
 * cancellation, through the SDK's typed RunService client.
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { RunStatus } from "@metronome/sdk/api";
import { RunSchema, type Run } from "@metronome/sdk/api";
import { RUN_STATUS } from "@metronome/sdk";
import { sdk, withClient, withClientFlags, type ClientFlags } from "./connection.js";
import { CliError } from "./exit.js";
import { duration, fields, json, note, table, when, type Out } from "./output.js";
import { collect, parseInstant, parseInteger } from "./values.js";

/** How many runs `runs list` prints without --limit. */
const DEFAULT_RUN_LIMIT = 50;

/** The API value of each status name (the SDK's table). */
const STATUSES: Readonly<Record<string, RunStatus | undefined>> = RUN_STATUS;

export function statusName(s: RunStatus): string {
  return Object.entries(STATUSES).find(([, v]) => v === s)?.[0] ?? "unknown";
}

const ms = (t: Parameters<typeof timestampMs>[0] | undefined): number | null =>
  t === undefined ? null : timestampMs(t);

export const RUN_HEADER = [
  "run id",
  "job",
  "scheduled",
  "status",
  "attempt",
  "duration",
  "worker",
  "error",
];

export function runRow(r: Run) {
  const started = ms(r.startedAt);
  const finished = ms(r.finishedAt);
  return [
    r.runId,
    r.jobId,
    when(ms(r.scheduledTime)),
    `${statusName(r.status)}${r.manual ? " (manual)" : ""}`,
    r.attempt,
    started !== null && finished !== null ? duration(finished - started) : "-",
    r.workerId,
    r.error === undefined ? "" : r.error.message.split("\n")[0],
  ];
}

function printRun(out: Out, r: Run, asJson: boolean): void {
  if (asJson) {
    out.line(json(toJson(RunSchema, r), 2));
    return;
  }
  const started = ms(r.startedAt);
  const finished = ms(r.finishedAt);
  fields(out, [
    ["run id", r.runId],
    ["job", r.jobId],
    ["scheduler", r.scheduler],
    ["handler", r.handler],
    ["status", statusName(r.status)],
    ["reason", r.statusReason],
    ["manual", r.manual],
    ["triggered by", r.triggeredBy === "" ? "-" : r.triggeredBy],
    ["attempt", r.attempt],
    ["scheduled", when(ms(r.scheduledTime))],
    ["fired", when(ms(r.fireTime))],
    ["started", when(started)],
    ["finished", when(finished)],
    ["duration", started !== null && finished !== null ? duration(finished - started) : "-"],
    ["worker", r.workerId],
    ["retry at", when(ms(r.retryAt))],
    ["result", r.resultJson],
    [
      "error",
      r.error === undefined
        ? ""
        : `${r.error.type === "" ? "" : `${r.error.type}: `}${r.error.message}`,
    ],
  ]);
  if (r.error !== undefined && r.error.stack !== "") {
    out.line("stack:");
    for (const line of r.error.stack.split("\n")) out.line(`  ${line}`);
  }
}

export function runsCommand(
  program: Command,
  out: Out,
  run: (a: () => Promise<void>) => Promise<void>,
): void {
  const runs = program.command("runs").description("run history and cancellation");

  withClientFlags(
    runs
      .command("list")
      .description("list runs, newest scheduled time first")
      .option("-s, --scheduler <name>", "the scheduler", "default")
      .option("--job <id>", "only the runs of this job")
      .option(
        "--status <status>",
        "only runs with this status (repeat or comma-separate): " +
          Object.keys(STATUSES).join(", "),
        collect,
      )
      .option("--since <time>", "only runs scheduled at or after this (ISO 8601, or -1h)")
      .option("--until <time>", "only runs scheduled before this (ISO 8601, or -10m)")
      .option("--limit <n>", `at most this many runs (default ${String(DEFAULT_RUN_LIMIT)})`),
  ).action(
    (
      o: ClientFlags & {
        scheduler: string;
        job?: string;
        status?: string[];
        since?: string;
        until?: string;
        limit?: string;
      },
    ) =>
      run(() => {
        const limit =
          o.limit === undefined ? DEFAULT_RUN_LIMIT : parseInteger("--limit", o.limit, 1, 100_000);
        const statuses = (o.status ?? []).map((s) => {
          const v = STATUSES[s.toLowerCase()];
          if (v === undefined)
            throw new CliError(
              `--status: unknown status "${s}" (${Object.keys(STATUSES).join(", ")})`,
            );
          return v;
        });
        const since = o.since === undefined ? undefined : parseInstant("--since", o.since);
        const until = o.until === undefined ? undefined : parseInstant("--until", o.until);
        return withClient(o, async (c) => {
          const found: Run[] = [];
          /** Whether a run past the limit matches too: the limit cut the list. */
          let more = false;
          let pageToken = "";
          // Pages come newest first: stop at the first run older than --since.
          scan: do {
            const page = await sdk(
              c.runs.listRuns(
                { scheduler: o.scheduler, jobId: o.job ?? "", statuses, pageSize: 500, pageToken },
                { headers: c.headers },
              ),
            );
            for (const r of page.runs) {
              const t = ms(r.scheduledTime) ?? 0;
              if (since !== undefined && t < since) break scan;
              if (until !== undefined && t >= until) continue;
              if (found.length === limit) {
                more = true;
                break scan;
              }
              found.push(r);
            }
            pageToken = page.nextPageToken;
          } while (pageToken !== "");
          if (o.json === true) out.line(json(found.map((r) => toJson(RunSchema, r))));
          else table(out, RUN_HEADER, found.map(runRow));
          // A limit given is what was asked for; the default one says it cut the list.
          if (more && o.limit === undefined)
            note(
              `listed the newest ${String(limit)} runs; older ones match too (--limit N lists more)`,
            );
        });
      }),
  );

  withClientFlags(
    runs
      .command("get")
      .description("show a run: status, times, result or error")
      .argument("<run-id>", "the run id"),
  ).action((id: string, o: ClientFlags) =>
    run(() =>
      withClient(o, async (c) => {
        const res = await sdk(c.runs.getRun({ runId: id }, { headers: c.headers }));
        if (res.run === undefined) throw new CliError("the server answered without the run", 1);
        printRun(out, res.run, o.json === true);
      }),
    ),
  );

  withClientFlags(
    runs
      .command("cancel")
      .description(
        "cancel a run: a pending one never starts, a running one's handler is told to stop",
      )
      .argument("<run-id>", "the run id")
      .option("--reason <text>", "why, stored on the run", ""),
  ).action((id: string, o: ClientFlags & { reason: string }) =>
    run(() =>
      withClient(o, async (c) => {
        const res = await sdk(
          c.runs.cancelRun({ runId: id, reason: o.reason }, { headers: c.headers }),
        );
        if (res.run === undefined) throw new CliError("the server answered without the run", 1);
        printRun(out, res.run, o.json === true);
      }),
    ),
  );
}
