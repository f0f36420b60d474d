/**
 * Which shard of a Redis Cluster store (cluster.ts) holds a run named by id alone (a result, a
 * lease extension, GetRun): remembered for the runs this node created, handed out or read, and
 * asked of every shard for the others.
 */
import type { Run } from "../../domain/runs.js";
import type { Db } from "./db.js";

/** Runs whose shard a node remembers, at most (the oldest are forgotten first). */
const REMEMBERED_RUNS = 200_000;

/** Items grouped by shard, each with its place in the list it came from. */
export type Groups<T> = Map<number, { item: T; at: number }[]>;

export class RunLocations {
  /** Run id → shard (insertion order: oldest first). */
  private readonly known = new Map<string, number>();

  /** `limit`: runs remembered at most (REMEMBERED_RUNS; tests give a small one). */
  constructor(
    private readonly dbs: readonly Db[],
    private readonly shardOf: (scheduler: string) => number,
    private readonly limit = REMEMBERED_RUNS,
  ) {}

  remember(runs: Iterable<Pick<Run, "id" | "scheduler">>): void {
    for (const r of runs) this.learn(r.id, this.shardOf(r.scheduler));
    this.trim();
  }

  /** The shard of each run (those no shard holds: shard 0, which answers for a missing run). */
  async locate(ids: readonly string[]): Promise<number[]> {
    const unknown = [...new Set(ids.filter((id) => !this.known.has(id)))];
    if (unknown.length === 0) return ids.map((id) => this.known.get(id) ?? 0);
    const found = await Promise.all(this.dbs.map((db) => db.runSchedulers(unknown)));
    const shards = new Map<string, number>();
    found.forEach((where, shard) => {
      for (const id of where.keys()) {
        shards.set(id, shard);
        this.learn(id, shard);
      }
    });
    this.trim();
    // Answered from what was found, not from what is remembered: a call for more runs than
    // the limit forgets some of them as it learns them.
    return ids.map((id) => shards.get(id) ?? this.known.get(id) ?? 0);
  }

  /** How many runs' shards are remembered. */
  get size(): number {
    return this.known.size;
  }

  /** Remembers a run's shard as the newest. */
  private learn(id: string, shard: number): void {
    this.known.delete(id);
    this.known.set(id, shard);
  }

  /** Forgets the oldest runs beyond the limit. */
  private trim(): void {
    for (const id of this.known.keys()) {
      if (this.known.size <= this.limit) break;
      this.known.delete(id);
    }
  }

  /** `items` by the shard of their run (`id`). */
  async group<T>(items: readonly T[], id: (item: T) => string): Promise<Groups<T>> {
    const shards = await this.locate(items.map(id));
    const groups: Groups<T> = new Map();
    items.forEach((item, at) => {
      const shard = shards[at] ?? 0;
      let list = groups.get(shard);
      if (list === undefined) groups.set(shard, (list = []));
      list.push({ item, at });
    });
    return groups;
  }
}
