/** Scheduler messages and their job defaults. */
import { create } from "@bufbuild/protobuf";
import type { JobSettings, Scheduler } from "../../domain/jobs.js";
import {
  SchedulerSchema,
  type Scheduler as PbScheduler,
} from "../../gen/metronome/v1/scheduler_pb.js";
import type { MisfireGraceTime as PbMisfire } from "../../gen/metronome/v1/job_pb.js";
import { misfireFromProto, misfireToProto } from "./misfire.js";
import { ts } from "./time.js";

export function settingsFromProto(
  d:
    | {
        coalesce?: boolean | undefined;
        maxInstances?: number | undefined;
        misfireGraceTime?: PbMisfire | undefined;
      }
    | undefined,
  field: string,
): Partial<JobSettings> {
  if (d === undefined) return {};
  const out: { coalesce?: boolean; maxInstances?: number; misfireGraceTimeMs?: number | null } = {};
  if (d.coalesce !== undefined) out.coalesce = d.coalesce;
  if (d.maxInstances !== undefined) out.maxInstances = d.maxInstances;
  const misfire = misfireFromProto(d.misfireGraceTime, `${field}.misfire_grace_time`);
  if (misfire !== undefined) out.misfireGraceTimeMs = misfire;
  return out;
}

export function schedulerToProto(s: Scheduler): PbScheduler {
  return create(SchedulerSchema, {
    name: s.name,
    timezone: s.timezone,
    jobDefaults: {
      coalesce: s.defaults.coalesce,
      maxInstances: s.defaults.maxInstances,
      misfireGraceTime: misfireToProto(s.defaults.misfireGraceTimeMs),
    },
    paused: s.paused,
    createdAt: ts(s.createdAt),
    updatedAt: ts(s.updatedAt),
    modifiedBy: s.modifiedBy ?? "",
  });
}
