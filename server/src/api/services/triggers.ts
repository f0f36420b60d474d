/** TriggerService: preview fire times without storing anything. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { Clock } from "../../clock.js";
import { InvalidArgumentError } from "../../domain/errors.js";
import type { JobManager } from "../../management/jobs.js";
import type { TriggerService } from "../../gen/metronome/v1/trigger_service_pb.js";
import { msOf, protoTriggerPath, triggerFromProto, ts } from "../convert.js";
import { withFields } from "./fields.js";

export function triggerService(
  jobs: JobManager,
  clock: Clock,
): Partial<ServiceImpl<typeof TriggerService>> {
  return {
    async previewTrigger(req) {
      const count = req.count === 0 ? 10 : req.count;
      if (count < 1 || count > 100)
        throw new InvalidArgumentError("count", "must be from 1 to 100 (0 means 10)");
      const spec = await withFields(
        () => triggerFromProto(req.trigger, "trigger"),
        (f) => f,
      );
      const after = msOf(req.after) ?? clock.now();
      const times = await withFields(
        () => jobs.previewTrigger(spec, after, count, req.timezone || "UTC"),
        (f) =>
          f === "timezone" ? "timezone" : `trigger${f ? `.${protoTriggerPath(spec, f)}` : ""}`,
      );
      return { fireTimes: times.map(ts) };
    },
  };
}
