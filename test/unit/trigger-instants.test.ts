/**
 * The SDK's trigger instants given as strings (sdk/src/client/triggers.ts): one with an offset
 * is the same instant whatever the zone of the process; one without (`Date.parse` would read a
 * date and time in the process's zone, a date alone in UTC) is refused, naming the option. Each
 * zone is a process of its own: Node reads TZ when it starts.
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../support/script-process.js";

/** Each trigger's proto instant (ISO) or the error it throws, in a process with `TZ=tz`. */
async function instantsIn(tz: string): Promise<Record<string, string>> {
  const { code, stdout, stderr } = await runScript("test/support/trigger-instants-main.ts", [], {
    TZ: tz,
  });
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
