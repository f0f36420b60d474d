/**
 * The SDK's trigger instants given as strings (sdk/src/client/triggers.ts): one with an offset
 * is the same instant whatever the zone of the process; one without (`Date.parse` would read a
 * date and time in the process's zone, a date alone in UTC) is refused, naming the option. Each
 * zone is a process of its own: Node reads TZ when it starts.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";

/** Each trigger's proto instant (ISO) or the error it throws, in a process with `TZ=tz`. */
const PROGRAM = `
const { CronTrigger, CrontabTrigger, DateTrigger, IntervalTrigger, triggerOf } = await import(
  "./sdk/src/client/triggers.ts"
);
const { timestampDate } = await import("@bufbuild/protobuf/wkt");
const cases = {
  dateZ: () => new DateTrigger({ runDate: "2030-01-01T09:00:00Z" }),
  dateOffset: () => new DateTrigger({ runDate: "2030-01-01T09:00:00+08:00", timezone: "Asia/Shanghai" }),
  dateSpaceOffset: () => triggerOf("date", { runDate: "2030-01-01 09:00+0800" }),
  dateNaive: () => new DateTrigger({ runDate: "2030-01-01 09:00:00", timezone: "Asia/Shanghai" }),
  dateNaiveT: () => triggerOf("date", { runDate: "2030-01-01T09:00:00" }),
  cronStartNaive: () => new CronTrigger({ hour: 9, startDate: "2030-01-01T09:00:00" }),
  cronEndDateOnly: () => new CronTrigger({ hour: 9, endDate: "2030-01-01" }),
  crontabStartNaive: () => new CrontabTrigger("0 9 * * *", "UTC", { startDate: "2030-01-01T09:00" }),
  intervalDateOnly: () => new IntervalTrigger({ hours: 1, startDate: "2030-01-01" }),
  intervalEndZ: () => new IntervalTrigger({ hours: 1, endDate: "2030-01-01T00:00:00.250Z" }),
  notADate: () => new DateTrigger({ runDate: "2030-02-30T25:00:00Z" }),
};
const out = {};
for (const [name, make] of Object.entries(cases)) {
  try {
    const v = make().toProto().kind.value;
    const t = v.runDate ?? v.startDate ?? v.endDate;
    out[name] = timestampDate(t).toISOString();
  } catch (err) {
    out[name] = err.constructor.name + ": " + err.message;
  }
}
console.log(JSON.stringify(out));
`;

async function instantsIn(tz: string): Promise<Record<string, string>> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", PROGRAM], {
    cwd: repoRoot,
    env: { ...process.env, TZ: tz },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(stdout) as Record<string, string>;
}

describe("trigger instants given as strings", () => {
  it("with an offset, one instant in every zone; without, a RangeError naming the option", async () => {
    const [shanghai, newYork] = await Promise.all([
      instantsIn("Asia/Shanghai"),
      instantsIn("America/New_York"),
    ]);
    expect(shanghai).toEqual(newYork);
    const refused = (option: string, given: string) =>
      `RangeError: ${option}: expected an ISO 8601 time with an offset (2030-01-01T09:00:00Z, 2030-01-01T09:00:00+08:00), got "${given}"`;
    expect(shanghai).toEqual({
      dateZ: "2030-01-01T09:00:00.000Z",
      dateOffset: "2030-01-01T01:00:00.000Z",
      dateSpaceOffset: "2030-01-01T01:00:00.000Z",
      dateNaive: refused("runDate", "2030-01-01 09:00:00"),
      dateNaiveT: refused("runDate", "2030-01-01T09:00:00"),
      cronStartNaive: refused("startDate", "2030-01-01T09:00:00"),
      cronEndDateOnly: refused("endDate", "2030-01-01"),
      crontabStartNaive: refused("startDate", "2030-01-01T09:00"),
      intervalDateOnly: refused("startDate", "2030-01-01"),
      intervalEndZ: "2030-01-01T00:00:00.250Z",
      notADate: "RangeError: runDate: not an instant: 2030-02-30T25:00:00Z",
    });
  });
});
