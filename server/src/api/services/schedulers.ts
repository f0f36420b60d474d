/** SchedulerService: convert, delegate to the scheduler use cases, answer. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { SchedulerManager } from "../../management/schedulers.js";
import type { SchedulerService } from "../../gen/metronome/v1/scheduler_service_pb.js";
import { principalOf } from "../access.js";
import { pageSize } from "../convert/paging.js";
import { schedulerToProto, settingsFromProto } from "../convert/schedulers.js";

export function schedulerService(
  schedulers: SchedulerManager,
  maxPageSize: number,
): Partial<ServiceImpl<typeof SchedulerService>> {
  return {
    async configureScheduler(req) {
      const { scheduler, created } = await schedulers.configureScheduler({
        name: req.name || "default",
        timezone: req.timezone || undefined,
        jobDefaults: settingsFromProto(req.jobDefaults, "job_defaults"),
        updateMask: req.updateMask?.paths ?? [],
      });
      return { scheduler: schedulerToProto(scheduler), created };
    },

    async getScheduler(req) {
      return { scheduler: schedulerToProto(await schedulers.getScheduler(req.name || "default")) };
    },

    async listSchedulers(req, ctx) {
      const size = pageSize(req.pageSize, maxPageSize);
      // Only the schedulers the key may read, filtered before paging: the page token names
      // the last scheduler of the page, which must be one the key may see.
      const scopes = principalOf(ctx).scopes;
      const page = await schedulers.listSchedulers(size, req.pageToken, (name) =>
        scopes.may("read", name),
      );
      return { schedulers: page.items.map(schedulerToProto), nextPageToken: page.nextPageToken };
    },

    async pauseScheduler(req) {
      const s = await schedulers.pauseScheduler(req.name || "default");
      return { scheduler: schedulerToProto(s) };
    },

    async resumeScheduler(req) {
      const s = await schedulers.resumeScheduler(req.name || "default");
      return { scheduler: schedulerToProto(s) };
    },
  };
}
