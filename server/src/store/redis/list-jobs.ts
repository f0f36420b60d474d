/**
 * ListJobs on Redis. A page costs what the page reads (and the jobs its filters pass by), not what
 * the store holds: each scheduler's index is read from the page token's position a part at a
 * time, in the listing's order, by next run time from `{sched:S}:jobs` (scripts/list-jobs.ts) or
 * by id from `{sched:S}:job-ids` (job-ids.ts); the jobs of each part are read and filtered, and
 * the schedulers' jobs merged in order (paging.ts: [next run time, scheduler, id], or [scheduler,
 * id]) until one more than a page passed the filters. In a store not migrated to the index by id
 * yet, a listing by id reads every job's id and sorts them, as before it.
 */
import type { ChainableCommander } from "ioredis";
import type { Job } from "../../domain/jobs.js";
import { comparePositions, jobPage, jobPageStart } from "../paging.js";
import type { ListJobsQuery, Page } from "../port.js";
import { jobFromFields } from "./codec.js";
import type { Db } from "./db.js";
import { JOB_IDS, jobIdsKey } from "./job-ids.js";
import { indexedKey } from "./pending-of-jobs.js";
import { LIST_JOBS } from "./scripts/list-jobs.js";

/** A job's position in the listing's order (paging.ts, jobPosition). */
type Position = (string | number)[];

/** An index entry read: the job's position and id. */
type Entry = readonly [Position, string];

/** Entries a scheduler's first part reads, at least. */
const LEAST = 10;
/** Entries a part reads, at most (each part of a scheduler reads twice its last, up to this). */
const MOST = 1000;
/** Jobs read per round trip by the listing of a store without the index by id. */
const READ = 200;

/** A scheduler's index entries in the listing's order from the page's start, a part at a time. */
interface Reader {
  readonly scheduler: string;
  /** Queues the read of the next part, up to `limit` entries. */
  queue(pipe: ChainableCommander, limit: number): void;
  /** The entries the read queued answered, in order; the next part starts after them. */
  take(reply: unknown): Entry[];
}

/**
 * A scheduler's jobs by next run time from the page's start `after` ([score, scheduler, id]),
 * as comparePositions orders them: of a scheduler before the token's, the jobs of a later score;
 * of the token's, those of a later score or of its score with a later id; of a later one, those
 * of its score too. Jobs of one score are in the byte order of their ids, which is the order of
 * strings for the ids the server accepts (letters, digits and `. _ : -`: domain/jobs.ts).
 */
function byNextRunTime(db: Db, scheduler: string, after: Position | null): Reader {
  let from: Record<string, string> = {};
  if (after !== null) {
    const [score, s, id] = after.map(String) as [string, string, string];
    if (scheduler < s) from = { score, past: "1" };
    else if (scheduler === s) from = { score, id };
    else from = { score };
  }
  return {
    scheduler,
    queue(pipe, limit) {
      db.queue(pipe, LIST_JOBS, { ...from, scheduler, limit: String(limit) });
    },
    take(reply) {
      const flat = reply as string[];
      const out: Entry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = flat[i] as string;
        out.push([[Number(flat[i + 1]), scheduler, id], id]);
      }
      if (flat.length >= 2)
        from = { score: flat[flat.length - 1] as string, id: flat[flat.length - 2] as string };
      return out;
    },
  };
}

/**
 * A scheduler's jobs by id from the page's start `after` ([scheduler, id]; a scheduler before
 * the token's has none after it), within the ids starting with `prefix` (a range of the index:
 * from `[prefix` to `(prefix\xff`, as ids are ASCII).
 */
function byId(db: Db, scheduler: string, after: Position | null, prefix: string): Reader {
  let min: string = prefix ? `[${prefix}` : "-";
  if (after !== null && after[0] === scheduler) {
    const id = String(after[1]);
    if (id >= prefix) min = `(${id}`;
  }
  const max = prefix ? Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]) : "+";
  return {
    scheduler,
    queue(pipe, limit) {
      pipe.zrange(jobIdsKey(db, scheduler), min, max, "BYLEX", "LIMIT", 0, limit);
    },
    take(reply) {
      const ids = reply as string[];
      const last = ids[ids.length - 1];
      if (last !== undefined) min = `(${last}`;
      return ids.map((id): Entry => [[scheduler, id], id]);
    },
  };
}

/** A scheduler's jobs that pass the listing's filters, read from its index as they are needed. */
class Source {
  private found: { key: Position; job: Job }[] = [];
  private at = 0;
  /** The index has no more entries. */
  done = false;

  constructor(
    readonly reader: Reader,
    /** The next part's size. */
    public limit: number,
  ) {}

  get head(): { key: Position; job: Job } | undefined {
    return this.found[this.at];
  }

  next(): void {
    this.at++;
  }

  /** Whether it has no job to give now but may have after reading. */
  get wanting(): boolean {
    return this.at >= this.found.length && !this.done;
  }

  fill(found: { key: Position; job: Job }[]): void {
    this.found = found;
    this.at = 0;
  }
}

function passes(q: ListJobsQuery, job: Job): boolean {
  if (q.handler !== undefined && job.handler !== q.handler) return false;
  if (q.paused !== undefined && job.paused !== q.paused) return false;
  if (q.namePrefix && !job.name.startsWith(q.namePrefix)) return false;
  return true;
}

/**
 * Reads the next parts of these sources, all in one round trip for the index and one for the
 * jobs, again for those whose part had no job passing the filters, until each has a job or is
 * done.
 */
async function fill(
  db: Db,
  q: ListJobsQuery,
  after: Position | null,
  sources: readonly Source[],
): Promise<void> {
  let wanting = sources.filter((s) => s.wanting);
  while (wanting.length > 0) {
    const replies = await db.batch((pipe) => {
      for (const s of wanting) s.reader.queue(pipe, s.limit);
    });
    const parts = wanting.map((s, i) => {
      const read = s.reader.take(replies[i]);
      if (read.length < s.limit) s.done = true;
      s.limit = Math.max(Math.min(s.limit * 2, MOST), s.limit);
      return read.filter(
        ([key, id]) =>
          (!q.idPrefix || id.startsWith(q.idPrefix)) &&
          (after === null || comparePositions(key, after) > 0),
      );
    });
    const hashes = await db.hashes(
      parts.flatMap((read, i) =>
        read.map(([, id]) => db.keys.job((wanting[i] as Source).reader.scheduler, id)),
      ),
    );
    let k = 0;
    parts.forEach((read, i) => {
      const found: { key: Position; job: Job }[] = [];
      for (const [key] of read) {
        const h = hashes[k++];
        if (h === null || h === undefined) continue; // an index entry left of a job gone
        const job = jobFromFields(h);
        if (passes(q, job)) found.push({ key, job });
      }
      (wanting[i] as Source).fill(found);
    });
    wanting = wanting.filter((s) => s.wanting);
  }
}

/** Where a source whose next job is at `key` goes among these, ordered by their next jobs. */
function placeOf(sources: readonly Source[], key: Position): number {
  let lo = 0;
  let hi = sources.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const head = (sources[mid] as Source).head;
    if (head !== undefined && comparePositions(head.key, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function listJobs(db: Db, q: ListJobsQuery): Promise<Page<Job>> {
  const after = jobPageStart(q);
  const [indexed, spaces] = await db.batch((pipe) => {
    pipe.sismember(indexedKey(db), JOB_IDS);
    if (q.scheduler === undefined) pipe.smembers(db.keys.global("spaces"));
  });
  const schedulers = q.scheduler === undefined ? (spaces as string[]).sort() : [q.scheduler];
  if (q.orderBy === "id" && indexed !== 1) return listReadingEveryJob(db, q, after, schedulers);
  const readers =
    q.orderBy === "id"
      ? schedulers
          .filter((s) => after === null || s >= String(after[0]))
          .map((s) => byId(db, s, after, q.idPrefix ?? ""))
      : schedulers.map((s) => byNextRunTime(db, s, after));
  // The page could be any scheduler's alone, or come from several: each reads its share first.
  const want = q.pageSize + 1;
  const first = Math.min(want, Math.max(LEAST, Math.ceil(want / Math.max(1, readers.length))));
  const sources = readers.map((r) => new Source(r, first));
  await fill(db, q, after, sources);
  const ordered: Source[] = [];
  for (const s of sources) {
    const head = s.head;
    if (head !== undefined) ordered.splice(placeOf(ordered, head.key), 0, s);
  }
  const items: Job[] = [];
  while (items.length < want) {
    const s = ordered.shift();
    const head = s?.head;
    if (s === undefined || head === undefined) break;
    items.push(head.job);
    s.next();
    if (items.length < want && s.wanting) await fill(db, q, after, [s]);
    const next = s.head;
    if (next !== undefined) ordered.splice(placeOf(ordered, next.key), 0, s);
  }
  return jobPage(q, items);
}

/**
 * A listing by id in a store without the index by id (not migrated yet): every job's id of the
 * schedulers, sorted, then the jobs read in that order until a page of them passes the filters.
 */
async function listReadingEveryJob(
  db: Db,
  q: ListJobsQuery,
  after: Position | null,
  schedulers: readonly string[],
): Promise<Page<Job>> {
  const entries = await db.batch((pipe) => {
    for (const s of schedulers) pipe.zrange(db.keys.sched(s, "jobs"), 0, -1);
  });
  const keys: Position[] = [];
  schedulers.forEach((s, i) => {
    for (const id of (entries[i] ?? []) as string[]) {
      if (q.idPrefix && !id.startsWith(q.idPrefix)) continue;
      keys.push([s, id]);
    }
  });
  const ordered = keys
    .filter((k) => after === null || comparePositions(k, after) > 0)
    .sort(comparePositions);
  const items: Job[] = [];
  for (let i = 0; i < ordered.length && items.length <= q.pageSize; i += READ) {
    const part = ordered.slice(i, i + READ);
    const found = await db.hashes(part.map(([s, id]) => db.keys.job(String(s), String(id))));
    for (const h of found) {
      if (h === null) continue;
      const job = jobFromFields(h);
      if (!passes(q, job)) continue;
      items.push(job);
      if (items.length > q.pageSize) break;
    }
  }
  return jobPage(q, items);
}
