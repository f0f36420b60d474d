/**
 * How a Redis Cluster store (cluster.ts) makes one answer of its shards' answers: listings merged
 * in their order, claims and sweeps joined, the earliest of their times, and a hand-out that takes
 * from the shards whose runs are due first. Each shard's answer is its own store's (store.ts);
 * nothing here reads Redis.
 */
import type { Job } from "../../domain/jobs.js";
import type { Run } from "../../domain/runs.js";
import { comparePositions, encodePageToken, jobPosition } from "../paging.js";
import type {
  ClaimResult,
  DueJob,
  LeaseRequest,
  LeaseResult,
  ListJobsQuery,
  Page,
  SweepResult,
} from "../port.js";

/** The earliest of these times (null: none). */
export function earliest(times: readonly (number | null)[]): number | null {
  let min: number | null = null;
  for (const t of times) if (t !== null && (min === null || t < min)) min = t;
  return min;
}

/** Every shard's first page of a listing over all schedulers, as one page in the query's order. */
export function mergeJobPages(query: ListJobsQuery, pages: readonly Page<Job>[]): Page<Job> {
  const found = pages
    .flatMap((p) => p.items)
    .sort((a, b) => comparePositions(jobPosition(query.orderBy, a), jobPosition(query.orderBy, b)));
  const items = found.slice(0, query.pageSize);
  const last = items[items.length - 1];
  const more = found.length > query.pageSize || pages.some((p) => p.nextPageToken !== "");
  return {
    items,
    nextPageToken:
      more && last !== undefined ? encodePageToken(jobPosition(query.orderBy, last)) : "",
  };
}

/** The shards' due jobs, earliest first, up to `limit`. */
export function mergeDueJobs(parts: readonly (readonly DueJob[])[], limit: number): DueJob[] {
  return parts
    .flat()
    .sort((a, b) => a.nextRunTime - b.nextRunTime)
    .slice(0, limit);
}

export function mergeClaims(parts: readonly ClaimResult[]): ClaimResult {
  return {
    jobs: parts.reduce((n, p) => n + p.jobs, 0),
    runs: parts.flatMap((p) => p.runs),
    ignored: parts.reduce((n, p) => n + p.ignored, 0),
    paused: parts.flatMap((p) => p.paused).sort(),
    ended: parts.flatMap((p) => p.ended),
    broken: parts.flatMap((p) => p.broken),
  };
}

export function mergeSweeps(parts: readonly SweepResult[]): SweepResult {
  return {
    missed: parts.flatMap((p) => p.missed),
    expired: parts.flatMap((p) => p.expired),
    timedOut: parts.flatMap((p) => p.timedOut),
  };
}

/**
 * A hand-out over shards: given each shard's earliest pending due time (`firsts`, by shard),
 * leases from the shards due by the request's time, earliest first, each up to the slots still
 * free, so a worker is never given more runs than it asked for.
 */
export async function leaseInDueOrder(
  request: LeaseRequest,
  firsts: readonly (number | null)[],
  lease: (shard: number, request: LeaseRequest) => Promise<LeaseResult>,
): Promise<LeaseResult> {
  const dueBy = Math.max(request.now, request.dueBy ?? request.now);
  const order = firsts
    .map((t, k) => ({ t, k }))
    .filter((f): f is { t: number; k: number } => f.t !== null && f.t <= dueBy)
    .sort((a, b) => a.t - b.t);
  const slots = new Map(request.slots);
  let total = request.total;
  const taken: Run[] = [];
  const ended: Run[] = [];
  for (const { k } of order) {
    if (total <= 0) break;
    const part = await lease(k, { ...request, slots, total });
    for (const run of part.taken) {
      slots.set(run.handler, (slots.get(run.handler) ?? 0) - 1);
      total--;
    }
    taken.push(...part.taken);
    ended.push(...part.ended);
  }
  return { taken, ended };
}
