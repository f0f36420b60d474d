/** The misfire grace time of jobs and of schedulers' job defaults: a duration or no limit. */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../../domain/errors.js";
import {
  MisfireGraceTimeSchema,
  type MisfireGraceTime as PbMisfire,
} from "../../gen/metronome/v1/job_pb.js";

export function misfireFromProto(
  m: PbMisfire | undefined,
  field: string,
): number | null | undefined {
  if (m === undefined) return undefined;
  switch (m.value.case) {
    case "duration": {
      const ms = durationMs(m.value.value);
      if (!(ms > 0) || ms > 365 * 86_400_000)
        throw new InvalidArgumentError(field, "must be greater than 0 and at most 365 days");
      return ms;
    }
    case "noLimit":
      if (!m.value.value)
        throw new InvalidArgumentError(`${field}.no_limit`, "must be true when set");
      return null;
    default:
      throw new InvalidArgumentError(field, "set duration or no_limit");
  }
}

export function misfireToProto(ms: number | null): PbMisfire {
  return create(MisfireGraceTimeSchema, {
    value:
      ms === null
        ? { case: "noLimit", value: true }
        : { case: "duration", value: durationFromMs(ms) },
  });
}
