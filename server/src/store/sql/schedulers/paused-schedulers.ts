import { all, type Tx } from "../runner.js";

/** The names of the paused schedulers (their jobs are not claimed, their runs not handed out). */
export function* pausedSchedulers(): Tx<string[]> {
  const rows = yield* all<{ name: string }>("SELECT `name` FROM `schedulers` WHERE `paused` = 1");
  return rows.map((r) => r.name);
}
