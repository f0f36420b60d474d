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

  constructor(
    private readonly dbs: readonly Db[],
    private readonly shardOf: (scheduler: string) => number,
  ) {}

  remember(runs: Iterable<Pick<Run, "id" | "scheduler">>): void {
    for (const r of runs) {
      this.known.delete(r.id);
      this.known.set(r.id, this.shardOf(r.scheduler));
    }
    for (const id of this.known.keys()) {
      if (this.known.size <= REMEMBERED_RUNS) break;
      this.known.delete(id);
    }
  }

  /** The shard of each run (those no shard holds: shard 0, which answers for a missing run). */
  async locate(ids: readonly string[]): Promise<number[]> {
    const unknown = [...new Set(ids.filter((id) => !this.known.has(id)))];
    if (unknown.length > 0) {
      const found = await Promise.all(this.dbs.map((db) => db.runSchedulers(unknown)));
      found.forEach((where, shard) => {
        for (const id of where.keys()) this.known.set(id, shard);
      });
    }
    return ids.map((id) => this.known.get(id) ?? 0);
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
