/**
 * Things in a valid trigger that are probably not what was meant. The trigger is stored all the
 * same; the API answers the warnings and the server logs them.
 */
import { numericWeekdaysAsNames } from "./cron-fields.js";
import type { TriggerSpec } from "./spec.js";
import { itemPath, TRIGGER_KIND_FIELD } from "../fields.js";

export interface TriggerWarning {
  /** The field's path in the Trigger message (`cron.day_of_week`, `any_of.triggers[1].cron.day_of_week`). */
  readonly field: string;
  readonly message: string;
}

/**
 * The warnings of a trigger: a day_of_week given by number in the cron field form, where 0 is
 * Monday (APScheduler 3), unlike crontab where 0 is Sunday — `"1-5"` means Tuesday to Saturday.
 * Names say which days are meant whatever the reader's habit.
 */
export function triggerWarnings(spec: TriggerSpec, prefix = ""): TriggerWarning[] {
  switch (spec.type) {
    case "cron": {
      const dow = spec.fields.day_of_week;
      if (dow === undefined) return [];
      const names = numericWeekdaysAsNames(dow);
      if (names === null) return [];
      return [
        {
          field: `${prefix}cron.day_of_week`,
          message:
            `${JSON.stringify(String(dow))} numbers the days from 0 = Monday (the cron field form, as in APScheduler 3), so it means ${JSON.stringify(names)}, not what crontab means by the same numbers (0 and 7 = Sunday). ` +
            `Write day names to say which days you mean (e.g. "mon-fri" for Monday to Friday), or use a crontab trigger for crontab numbering`,
        },
      ];
    }
    case "and":
    case "or":
      return spec.triggers.flatMap((t, i) =>
        triggerWarnings(t, `${prefix}${TRIGGER_KIND_FIELD[spec.type]}.${itemPath("triggers", i)}.`),
      );
    default:
      return [];
  }
}
