export * from "./spec.js";
export {
  compileTrigger,
  fireTimes,
  intervalMs,
  jittered,
  MAX_INSTANT,
  MIN_INSTANT,
  TRIGGER_LIMITS,
  TriggerSearchExhaustedError,
  type Trigger,
} from "./trigger.js";
export { CRON_FIELD_NAMES, type CronFieldName, type CronFields } from "./cron-fields.js";
export { ZoneRules } from "./zone.js";
export { triggerWarnings, type TriggerWarning } from "./warnings.js";
