/**
 * What this node last wrote of a record, with the revision Redis gave it (scripts/lib.ts): a
 * hand-out of runs this node's claim created, or a result for a run it leased, starts from it
 * instead of reading the run again. Never trusted on its own: an operation uses an entry only
 * when the revision it finds in Redis is the entry's (a reservation answers it), or commits with
 * the entry's revision as its check, so that a record changed meanwhile by another node or call
 * makes it read again. Bounded: the oldest entries go first.
 */
export class RecordCache<T> {
  private readonly entries = new Map<string, { readonly rev: string; readonly value: T }>();

  constructor(private readonly limit: number) {}

  get(key: string): { readonly rev: string; readonly value: T } | undefined {
    return this.entries.get(key);
  }

  set(key: string, rev: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, { rev, value });
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** The revision a write gives a record read (or cached) at `rev` (scripts/lib.ts, put_hash). */
export function nextRev(rev: string): string {
  return String(Number(rev) + 1);
}
