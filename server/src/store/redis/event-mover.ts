/**
 * On a Redis Cluster store (cluster.ts), each shard's changes push their events onto the shard's
 * inbox; this moves them into the home's log, which gives the cursors. A move crosses slots, so
 * it is three steps that may each be repeated (scripts/outbox.ts): nothing is logged twice or
 * lost when a node dies between them.
 */
import type { Db } from "./db.js";
import { MOVE_EVENTS, PEEK_INBOX, TRIM_INBOX } from "./scripts/outbox.js";

export class EventMover {
  /** The shard the next pass starts with (every shard gets its turn first). */
  private next = 0;

  constructor(
    private readonly home: Db,
    private readonly shards: readonly Db[],
  ) {}

  /**
   * Moves up to `limit` events: every shard's inbox read at once, the non-empty ones moved one
   * after another. Answers how many were appended to the log.
   */
  async move(limit: number): Promise<number> {
    const count = this.shards.length;
    const start = this.next;
    this.next = (this.next + 1) % count;
    const heads = await Promise.all(
      this.shards.map(
        async (db) => (await db.run(PEEK_INBOX, { limit: String(limit) })) as [string, string[]],
      ),
    );
    let n = 0;
    for (let i = 0; i < count && n < limit; i++) {
      const k = (start + i) % count;
      const [trimmed, entries] = heads[k] ?? ["0", []];
      n += await this.moveShard(k, Number(trimmed), entries.slice(0, limit - n));
    }
    return n;
  }

  /** Moves shard k's inbox entries numbered `trimmed` + 1, … into the log. */
  private async moveShard(k: number, trimmed: number, entries: string[]): Promise<number> {
    if (entries.length === 0) return 0;
    const first = trimmed + 1;
    const moved = Number(
      await this.home.run(MOVE_EVENTS, { shard: String(k), first: String(first), entries }),
    );
    await (this.shards[k] as Db).run(TRIM_INBOX, { upTo: String(first + entries.length - 1) });
    return moved;
  }
}
