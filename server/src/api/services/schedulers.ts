/** SchedulerService: configure, get, list, pause, resume. */
import type { ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError, NotFoundError } from "../../domain/errors.js";
import type { Engine } from "../../engine/engine.js";
import type { JobSettings } from "../../domain/jobs.js";
import type { JobManager, ServerDefaults } from "../../management/jobs.js";
import type { SchedulerService } from "../../gen/metronome/v1/scheduler_service_pb.js";
import { schedulerToProto, settingsFromProto } from "../convert.js";
import { pageSize, withFields } from "./fields.js";

const MASK_PATHS = [
  "timezone",
  "job_defaults",
  "job_defaults.coalesce",
  "job_defaults.max_instances",
  "job_defaults.misfire_grace_time",
];

const named = (f: string) => (f === "scheduler" ? "name" : f);

export function schedulerService(
  jobs: JobManager,
  engine: Engine,
  server: ServerDefaults,
  maxPageSize: number,
): Partial<ServiceImpl<typeof SchedulerService>> {
  return {
    async configureScheduler(req) {
      const name = req.name || "default";
      const given = settingsFromProto(req.jobDefaults, "job_defaults");
      const paths = req.updateMask?.paths ?? [];
      for (const p of paths) {
        if (!MASK_PATHS.includes(p))
          throw new InvalidArgumentError(
            "update_mask",
            `unknown path ${JSON.stringify(p)}; allowed: ${MASK_PATHS.join(", ")}`,
          );
      }
      let timezone: string | undefined = req.timezone || undefined;
      let defaults: Partial<JobSettings> = given;
      if (paths.length > 0) {
        // Exactly the named fields change; a named field left unset returns to the server default.
        const pick = <K extends keyof JobSettings>(
          path: string,
          key: K,
        ): JobSettings[K] | undefined =>
          paths.includes(path) || paths.includes("job_defaults")
            ? (given[key] ?? server.settings[key])
            : undefined;
        timezone = paths.includes("timezone") ? req.timezone || server.timezone : undefined;
        defaults = {};
        const c = pick("job_defaults.coalesce", "coalesce");
        const m = pick("job_defaults.max_instances", "maxInstances");
        const g = pick("job_defaults.misfire_grace_time", "misfireGraceTimeMs");
        if (c !== undefined) defaults = { ...defaults, coalesce: c };
        if (m !== undefined) defaults = { ...defaults, maxInstances: m };
        if (g !== undefined) defaults = { ...defaults, misfireGraceTimeMs: g };
      }
      const { scheduler, created } = await withFields(
        () => jobs.configureScheduler(name, { timezone, defaults }),
        named,
      );
      return { scheduler: schedulerToProto(scheduler), created };
    },

    async getScheduler(req) {
      const s = await withFields(() => jobs.getScheduler(req.name || "default"), named);
      return { scheduler: schedulerToProto(s) };
    },

    async listSchedulers(req) {
      const size = pageSize(req.pageSize, maxPageSize);
      const all = await jobs.listSchedulers();
      const after = req.pageToken ? Buffer.from(req.pageToken, "base64url").toString("utf8") : "";
      const rest = all.filter((s) => s.name > after);
      const page = rest.slice(0, size);
      const last = page[page.length - 1];
      return {
        schedulers: page.map(schedulerToProto),
        nextPageToken:
          rest.length > size && last ? Buffer.from(last.name).toString("base64url") : "",
      };
    },

    async pauseScheduler(req) {
      const { scheduler: s } = await withFields(
        () => jobs.configureScheduler(req.name || "default", { paused: true }),
        named,
      );
      return { scheduler: schedulerToProto(s) };
    },

    async resumeScheduler(req) {
      const name = req.name || "default";
      const before = await jobs.getScheduler(name).catch((err: unknown) => {
        if (err instanceof NotFoundError) return null;
        throw err;
      });
      // While it is still paused (no claim touches it), withdraw the runs prepared before the
      // pause (it began with its last change) for the fire times that passed during it.
      if (before?.paused === true) await engine.resumingScheduler(name, before.updatedAt);
      const { scheduler: s } = await withFields(
        () => jobs.configureScheduler(name, { paused: false }),
        named,
      );
      return { scheduler: schedulerToProto(s) };
    },
  };
}
