/**
 * The SDK's conversions from API messages, without a server: every trigger kind comes back from
 * its message with its jitter, bounds and time zone (a trigger read from a job and written back
 * changes nothing); a run status this SDK does not know is not shown as another one; the typed
 * errors keep the field the server's message names.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RunSchema, RunStatus } from "../../sdk/src/gen/metronome/v1/run_pb.js";
import { TriggerSchema } from "../../sdk/src/gen/metronome/v1/trigger_pb.js";
import {
  AndTrigger,
  CronTrigger,
  CrontabTrigger,
  DateTrigger,
  IntervalTrigger,
  InvalidArgumentError,
  OrTrigger,
  ResourceExhaustedError,
  retryDelayOf,
  toMetronomeError,
} from "@metronome/sdk";
import { RetryInfoSchema } from "../../sdk/src/gen/google/rpc/error_details_pb.js";
import { runFromProto } from "../../sdk/src/client/runs.js";
import { triggerFromProto } from "../../sdk/src/client/triggers.js";

type TriggerInit = MessageInitShape<typeof TriggerSchema>;

/** The message of a trigger read back from `init`: what writing a read trigger sends. */
function roundTrip(init: TriggerInit) {
  return create(TriggerSchema, triggerFromProto(create(TriggerSchema, init)).toProto());
}

const start = timestampFromMs(Date.UTC(2030, 0, 1));
const end = timestampFromMs(Date.UTC(2031, 0, 1));
const jitter = durationFromMs(5_500);

describe("triggers read from the API", () => {
  it.each<[string, TriggerInit]>([
    [
      "cron",
      {
        kind: {
          case: "cron",
          value: {
            hour: "2",
            minute: "30",
            timezone: "Europe/Paris",
            startDate: start,
            endDate: end,
          },
        },
        jitter,
      },
    ],
    [
      "crontab",
      {
        kind: {
          case: "crontab",
          value: { expression: "0 9 * * 1-5", timezone: "UTC", startDate: start, endDate: end },
        },
        jitter,
      },
    ],
    [
      "interval",
      {
        kind: { case: "interval", value: { minutes: 5, startDate: start, endDate: end } },
        jitter,
      },
    ],
    ["date", { kind: { case: "date", value: { runDate: start, timezone: "UTC" } }, jitter }],
    [
      "all of",
      {
        kind: {
          case: "allOf",
          value: {
            triggers: [
              { kind: { case: "cron", value: { dayOfWeek: "sat" } } },
              { kind: { case: "cron", value: { day: "1-7" } } },
            ],
          },
        },
        jitter,
      },
    ],
    [
      "any of",
      {
        kind: {
          case: "anyOf",
          value: {
            triggers: [
              { kind: { case: "cron", value: { hour: "1" } } },
              { kind: { case: "interval", value: { hours: 6 } } },
            ],
          },
        },
        jitter,
      },
    ],
  ])("%s: written back unchanged, jitter included", (_kind, init) => {
    expect(roundTrip(init)).toEqual(create(TriggerSchema, init));
  });

  it("trigger objects take the jitter of every kind", () => {
    const at = new Date(Date.UTC(2030, 0, 1));
    const cases = [
      new CronTrigger({ hour: 2, jitter: 5.5 }),
      new CrontabTrigger("0 2 * * *", undefined, { jitter: 5.5 }),
      CronTrigger.fromCrontab("0 2 * * *", "UTC", { jitter: 5.5 }),
      new IntervalTrigger({ minutes: 5, jitter: 5.5 }),
      new DateTrigger({ runDate: at, jitter: 5.5 }),
      new AndTrigger([new CronTrigger({ hour: 2 }), new CronTrigger({ day: 1 })], { jitter: 5.5 }),
      new OrTrigger([new CronTrigger({ hour: 2 }), new CronTrigger({ hour: 3 })], { jitter: 5.5 }),
    ];
    for (const t of cases) expect(create(TriggerSchema, t.toProto()).jitter).toEqual(jitter);
  });
});

describe("runs read from the API", () => {
  it("a status this SDK does not know is 'unknown', not another status", () => {
    const known = runFromProto(create(RunSchema, { runId: "r1", status: RunStatus.RUNNING }));
    expect(known.status).toBe("running");
    // A value from a newer proto: the enum's values are what this SDK knows.
    const newer = runFromProto(Object.assign(create(RunSchema, { runId: "r2" }), { status: 99 }));
    expect(newer.status).toBe("unknown");
  });
});

describe("typed errors", () => {
  it("RESOURCE_EXHAUSTED keeps the field its message names, as INVALID_ARGUMENT does", () => {
    const big = toMetronomeError(
      new ConnectError(
        "job.args: args and kwargs together must be at most 65536 bytes of JSON",
        Code.ResourceExhausted,
      ),
    );
    expect(big).toBeInstanceOf(ResourceExhaustedError);
    expect(big).toMatchObject({ field: "job.args", code: Code.ResourceExhausted });
    const bad = toMetronomeError(
      new ConnectError("job.trigger.cron.hour: bad", Code.InvalidArgument),
    );
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect(bad).toMatchObject({ field: "job.trigger.cron.hour" });
  });

  it("a rate limit's delay: google.rpc.RetryInfo first, else retry-after in seconds", () => {
    const detailed = toMetronomeError(
      new ConnectError("too many requests", Code.ResourceExhausted, { "retry-after": "1" }, [
        { desc: RetryInfoSchema, value: { retryDelay: durationFromMs(250) } },
      ]),
    );
    expect(detailed).toMatchObject({ retryAfterMs: 250 });
    const header = new ConnectError("too many requests", Code.ResourceExhausted, {
      "retry-after": "3",
    });
    expect(toMetronomeError(header)).toMatchObject({ retryAfterMs: 3000 });
    expect(retryDelayOf(header)).toBe(3000);
    const none = toMetronomeError(new ConnectError("too many jobs", Code.ResourceExhausted));
    expect(none).toBeInstanceOf(ResourceExhaustedError);
    expect((none as ResourceExhaustedError).retryAfterMs).toBeUndefined();
    expect(retryDelayOf(new Error("not a call"))).toBeUndefined();
  });
});
