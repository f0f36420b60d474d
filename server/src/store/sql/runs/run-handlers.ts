import { chunks } from "../../../lib/chunks.js";
import { all, placeholders, type Tx } from "../runner.js";

/** The handler of each of these runs. */
export function* runHandlers(ids: readonly string[]): Tx<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks(ids, 500)) {
    for (const r of yield* all(
      `SELECT \`id\`, \`handler\` FROM \`runs\` WHERE \`id\` IN (${placeholders(part.length)})`,
      part,
    ))
      out.set(String(r.id), String(r.handler));
  }
  return out;
}
