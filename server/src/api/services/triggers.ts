/** TriggerService: preview fire times without storing anything. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { Clock } from "../../clock.js";
import { InvalidArgumentError } from "../../domain/errors.js";
import { previewTrigger } from "../../management/triggers.js";
import type { TriggerService } from "../../gen/metronome/v1/trigger_service_pb.js";
import { msOf, ts } from "../convert/time.js";
import { triggerFromProto } from "../convert/triggers.js";

export function triggerService(clock: Clock): Partial<ServiceImpl<typeof TriggerService>> {
  return {
    previewTrigger(req) {
      const count = req.count === 0 ? 10 : req.count;
      if (count < 1 || count > 100)
        throw new InvalidArgumentError("count", "must be from 1 to 100 (0 means 10)");
      const trigger = triggerFromProto(req.trigger, "trigger");
      const after = msOf(req.after) ?? clock.now();
      const times = previewTrigger(trigger, after, count, req.timezone || "UTC");
      return { fireTimes: times.map(ts) };
    },
  };
}
