import type { Script } from "./script.js";

/** Appends events that report no other change; answers how many. */
export const APPEND_EVENTS: Script = {
  name: "metronomeAppendEvents",
  body: `
return append_events()
`,
};
