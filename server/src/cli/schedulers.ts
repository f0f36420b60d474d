/** `metronome schedulers list|get|pause|resume|configure`, through the SDK's SchedulerService client. */
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { SchedulerSchema, type Scheduler } from "@metronome/sdk/api";
import { sdk, withClient, withClientFlags, type ClientFlags } from "./connection.js";
import { CliError } from "./exit.js";
import { fields, json, table, type Out } from "./output.js";
import { parseDuration, parseInteger } from "./values.js";

function grace(s: Scheduler): string {
  const g = s.jobDefaults?.misfireGraceTime?.value;
  return g?.case === "noLimit"
    ? "no limit"
    : g?.case === "duration"
      ? `${String(g.value.seconds)}s`
      : "-";
}

function row(s: Scheduler) {
  return [
    s.name,
    s.timezone,
    s.paused ? "yes" : "no",
    s.jobDefaults?.coalesce ?? "-",
    s.jobDefaults?.maxInstances ?? "-",
    grace(s),
  ];
}

const HEADER = ["name", "timezone", "paused", "coalesce", "max instances", "misfire grace"];

function print(out: Out, s: Scheduler | undefined, asJson: boolean): void {
  if (s === undefined) throw new CliError("the server answered without the scheduler", 1);
  if (asJson) out.line(json(toJson(SchedulerSchema, s), 2));
  else
    fields(out, [
      ["name", s.name],
      ["timezone", s.timezone],
      ["paused", s.paused],
      ["coalesce", s.jobDefaults?.coalesce],
      ["max instances", s.jobDefaults?.maxInstances],
      ["misfire grace", grace(s)],
    ]);
}

export function schedulersCommand(
  program: Command,
  out: Out,
  run: (a: () => Promise<void>) => Promise<void>,
): void {
  const schedulers = program
    .command("schedulers")
    .description("list, inspect, pause and configure schedulers");

  withClientFlags(schedulers.command("list").description("list the schedulers")).action(
    (o: ClientFlags) =>
      run(() =>
        withClient(o, async (c) => {
          const all: Scheduler[] = [];
          let pageToken = "";
          do {
            const page = await sdk(
              c.schedulers.listSchedulers({ pageSize: 500, pageToken }, { headers: c.headers }),
            );
            all.push(...page.schedulers);
            pageToken = page.nextPageToken;
          } while (pageToken !== "");
          if (o.json === true) out.line(json(all.map((s) => toJson(SchedulerSchema, s))));
          else table(out, HEADER, all.map(row));
        }),
      ),
  );

  withClientFlags(
    schedulers.command("get").description("show a scheduler").argument("<name>", "the scheduler"),
  ).action((name: string, o: ClientFlags) =>
    run(() =>
      withClient(o, async (c) => {
        print(
          out,
          (await sdk(c.schedulers.getScheduler({ name }, { headers: c.headers }))).scheduler,
          o.json === true,
        );
      }),
    ),
  );

  for (const [verb, description] of [
    ["pause", "pause a scheduler: none of its jobs fires until resumed"],
    ["resume", "resume a scheduler (fire times during the pause follow the misfire rules)"],
  ] as const)
    withClientFlags(
      schedulers.command(verb).description(description).argument("<name>", "the scheduler"),
    ).action((name: string, o: ClientFlags) =>
      run(() =>
        withClient(o, async (c) => {
          const res = await sdk<{ scheduler?: Scheduler | undefined }>(
            verb === "pause"
              ? c.schedulers.pauseScheduler({ name }, { headers: c.headers })
              : c.schedulers.resumeScheduler({ name }, { headers: c.headers }),
          );
          print(out, res.scheduler, o.json === true);
        }),
      ),
    );

  withClientFlags(
    schedulers
      .command("configure")
      .description(
        "set a scheduler's time zone and job defaults (creating it); what is not given stays",
      )
      .argument("<name>", "the scheduler")
      .option("--timezone <zone>", "IANA time zone")
      .option("--coalesce", "default: several overdue fire times become one run")
      .option("--no-coalesce", "default: every overdue fire time becomes a run")
      .option("--max-instances <n>", "default runs of one job at once")
      .option("--misfire-grace-time <duration>", "default lateness allowed; none = no limit"),
  ).action(
    (
      name: string,
      o: ClientFlags & {
        timezone?: string;
        coalesce?: boolean;
        maxInstances?: string;
        misfireGraceTime?: string;
      },
    ) =>
      run(() => {
        const g = o.misfireGraceTime;
        const paths = [
          ...(o.timezone === undefined ? [] : ["timezone"]),
          ...(o.coalesce === undefined ? [] : ["job_defaults.coalesce"]),
          ...(o.maxInstances === undefined ? [] : ["job_defaults.max_instances"]),
          ...(g === undefined ? [] : ["job_defaults.misfire_grace_time"]),
        ];
        if (paths.length === 0)
          throw new CliError(
            "give what to set: --timezone, --coalesce/--no-coalesce, --max-instances or --misfire-grace-time",
          );
        const graceMs =
          g === undefined || g === "none" ? undefined : parseDuration("--misfire-grace-time", g);
        const jobDefaults = {
          ...(o.coalesce === undefined ? {} : { coalesce: o.coalesce }),
          ...(o.maxInstances === undefined
            ? {}
            : { maxInstances: parseInteger("--max-instances", o.maxInstances, 1, 10_000) }),
          ...(g === undefined
            ? {}
            : {
                misfireGraceTime:
                  graceMs === undefined
                    ? { value: { case: "noLimit" as const, value: true } }
                    : {
                        value: {
                          case: "duration" as const,
                          value: { seconds: BigInt(Math.round(graceMs / 1000)) },
                        },
                      },
              }),
        };
        return withClient(o, async (c) => {
          const res = await sdk(
            c.schedulers.configureScheduler(
              { name, timezone: o.timezone ?? "", jobDefaults, updateMask: { paths } },
              { headers: c.headers },
            ),
          );
          print(out, res.scheduler, o.json === true);
        });
      }),
  );
}
