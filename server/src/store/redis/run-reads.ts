/**
 * Reading runs on Redis, and their retention: a run by id (`{g}:run-sched` says its scheduler),
 * a scheduler's or a job's runs newest first (`{sched:S}:runs`, `{sched:S}:job-runs:<job>`, by
 * fire time; equal fire times in descending id order, as ZREVRANGEBYSCORE gives them), and the
 * counts of pending and running runs.
 */
import type { Run } from "../../domain/runs.js";
import type { ActiveRunCount, ListRunsQuery } from "../port.js";
import { runFromFields } from "./codec.js";
import type { Db } from "./db.js";
import { DELETE_OLD_RUNS } from "./scripts/delete-old-runs.js";

export async function getRun(db: Db, runId: string): Promise<Run | null> {
  const h = (await db.runHashes([runId])).get(runId);
  return h === undefined ? null : runFromFields(h);
}

export async function runHandlers(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  const found = await db.runHashes(ids);
  return new Map([...found].map(([id, h]) => [id, h.handler ?? ""]));
}

/** Runs read per round trip. */
const READ = 200;

export async function listRuns(db: Db, q: ListRunsQuery): Promise<Run[]> {
  const index =
    q.jobId === undefined
      ? db.keys.sched(q.scheduler, "runs")
      : db.keys.sched(q.scheduler, `job-runs:${q.jobId}`);
  const statuses = new Set(q.statuses);
  const max = q.after === undefined ? "+inf" : String(q.after.scheduledTime);
  const out: Run[] = [];
  for (let offset = 0; out.length < q.limit; offset += READ) {
    const flat = await db.call(() =>
      db.redis.zrevrangebyscore(index, max, "-inf", "WITHSCORES", "LIMIT", offset, READ),
    );
    if (flat.length === 0) break;
    const ids: string[] = [];
    for (let j = 0; j + 1 < flat.length; j += 2) {
      const id = flat[j] ?? "";
      const t = Number(flat[j + 1]);
      const after = q.after;
      if (after !== undefined && t === after.scheduledTime && id >= after.id) continue;
      ids.push(id);
    }
    const found = await db.hashes(ids.map((id) => db.keys.run(q.scheduler, id)));
    for (const h of found) {
      if (h === null) continue;
      const run = runFromFields(h);
      if (statuses.size > 0 && !statuses.has(run.status)) continue;
      out.push(run);
      if (out.length >= q.limit) break;
    }
    if (flat.length < READ * 2) break;
  }
  return out;
}

export async function countActiveRuns(db: Db, now: number): Promise<ActiveRunCount[]> {
  const schedulers = await db.spaces();
  const replies = await db.batch((pipe) => {
    for (const s of schedulers) {
      pipe.zcount(db.keys.sched(s, "pending"), "-inf", String(now));
      pipe.zcount(db.keys.sched(s, "pending"), `(${String(now)}`, "+inf");
      pipe.zcard(db.keys.sched(s, "running"));
    }
  });
  const out: ActiveRunCount[] = [];
  const states = ["due", "later", "running"] as const;
  schedulers.forEach((scheduler, i) => {
    states.forEach((state, k) => {
      const count = Number(replies[i * 3 + k] ?? 0);
      if (count > 0) out.push({ scheduler, state, count });
    });
  });
  return out;
}

export async function deleteOldRuns(db: Db, before: number, limit: number): Promise<number> {
  return Number(await db.run(DELETE_OLD_RUNS, { before: String(before), limit: String(limit) }));
}
