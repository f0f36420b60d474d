/**
 * The Redis store's key layout (docs/storage.md, "The Redis store"): every key of a scheduler
 * carries the hash tag `{sched:<name>}`, the node-wide records `{g}`, the event log `{events}`,
 * all after the store's prefix. The Lua side (scripts/lib.ts) builds the same names.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** A key of scheduler `s`: `<prefix>{sched:<s>}:<suffix>`. */
  sched(s: string, suffix: string): string {
    return `${this.prefix}{sched:${s}}:${suffix}`;
  }

  /** A node-wide key: `<prefix>{g}:<suffix>`. */
  global(suffix: string): string {
    return `${this.prefix}{g}:${suffix}`;
  }

  /** The event log's keys: `<prefix>{events}:<suffix>`. */
  events(suffix: string): string {
    return `${this.prefix}{events}:${suffix}`;
  }

  job(s: string, id: string): string {
    return this.sched(s, `job:${id}`);
  }

  run(s: string, id: string): string {
    return this.sched(s, `run:${id}`);
  }
}
