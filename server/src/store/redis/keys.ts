/**
 * The Redis store's key layout (docs/storage.md, "The Redis store"). On one Redis server every key
 * of a scheduler carries the hash tag `{sched:<name>}`, the node-wide records `{g}`, the event log
 * `{events}`, all after the store's prefix. On a Redis Cluster (cluster.ts) the store is split
 * into shards, and every key of shard `T` carries the one hash tag `{T}`, the part that names
 * its scheduler, records or log following in brackets (`<prefix>{T}[sched:<name>]:<suffix>`), so
 * each script of a shard touches keys of one slot. The Lua side (scripts/lib.ts) builds the same
 * names.
 */
export class Keys {
  /**
   * `tag`: the shard's hash tag on a Redis Cluster; empty on one server. `anchor`, a key of the
   * layout's own slot, is what a script names so a cluster client sends it to the right shard.
   */
  constructor(
    readonly prefix: string,
    readonly tag = "",
  ) {}

  /** The part of a key that names its group: `{<inner>}`, or `{<tag>}[<inner>]` on a shard. */
  private group(inner: string): string {
    return this.tag === "" ? `${this.prefix}{${inner}}` : `${this.prefix}{${this.tag}}[${inner}]`;
  }

  /** A key of scheduler `s`: `<prefix>{sched:<s>}:<suffix>`. */
  sched(s: string, suffix: string): string {
    return `${this.group(`sched:${s}`)}:${suffix}`;
  }

  /** A node-wide key: `<prefix>{g}:<suffix>`. */
  global(suffix: string): string {
    return `${this.group("g")}:${suffix}`;
  }

  /** The event log's keys: `<prefix>{events}:<suffix>`. */
  events(suffix: string): string {
    return `${this.group("events")}:${suffix}`;
  }

  /** The key a script names as its one key (KEYS[1]): it routes the script on a cluster. */
  get anchor(): string {
    return this.global("schema");
  }

  job(s: string, id: string): string {
    return this.sched(s, `job:${id}`);
  }

  run(s: string, id: string): string {
    return this.sched(s, `run:${id}`);
  }
}
