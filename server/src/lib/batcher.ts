/**
 * Request coalescing for the hottest statements (point reads, single-row inserts): the items
 * that arrive during one turn of the event loop go out together, and while `maxInFlight`
 * batches are already at the database, further items wait and go out together when one
 * finishes. Under light load an item is sent at the end of the current turn (no timer, no added
 * latency worth measuring); under heavy load one round trip serves many requests, which is what
 * keeps the database client's per-call cost (socket writes, packet parsing) off each RPC.
 *
 * With `lingerMs`, an item that finds the queue empty waits that long for others before the
 * batch goes out (unless `maxBatch` items gather first): for items that arrive spread out, such
 * as one result every millisecond, where each would otherwise go alone.
 *
 * `load` receives the items of one batch and answers one result per item, in the same order.
 * A failed load rejects the items of that batch only. With `isolate`, a batch of several items
 * whose load failed with an error `isolate` accepts (one that may be an item's own fault, not the
 * database's) is split in halves and each half loaded again, down to single items: one item the
 * database refuses fails alone, and its batch's other items are answered as if it had not been
 * there, in about 2·log₂(n) further loads. `load` must then be safe to repeat for the items of a
 * failed load (a failed transaction wrote nothing).
 *
 * Deadlines (deadline.ts): a batch serves several calls, so it runs in the Batcher's own async
 * context (that of its maker, a store made at start-up), under the earliest deadline of its
 * items; an item whose deadline passed while it waited is refused with `late()` instead of being
 * sent. (Each load used to run in the context of the call whose item started the chain of
 * batches: under a steady stream of items that call's deadline passed after ten seconds, and
 * every later batch failed as past its deadline. Four AddJobs calls of 1,000 jobs on MariaDB on
 * a loaded machine answered UNAVAILABLE so.)
 */
import { AsyncResource } from "node:async_hooks";
import { currentDeadline, withDeadline } from "./deadline.js";

interface Queued<T, R> {
  readonly item: T;
  /** Its caller's deadline (epoch milliseconds; Infinity without one). */
  readonly deadline: number;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export interface BatcherOptions {
  /** Batches at the database at once (2). */
  readonly maxInFlight?: number;
  /** Items in one batch (100). */
  readonly maxBatch?: number;
  /** The error of an item whose deadline passed before it was sent. */
  readonly late?: () => Error;
  /** How long the first item of an empty queue waits for others (0: to the end of the turn). */
  readonly lingerMs?: number;
  /** Whether a failed batch's items are loaded again in halves (see above); never by default. */
  readonly isolate?: (err: unknown) => boolean;
}

export class Batcher<T, R> {
  private queue: Queued<T, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private lingering: NodeJS.Timeout | undefined;
  private readonly home = new AsyncResource("Batcher");
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private readonly late: () => Error;
  private readonly lingerMs: number;
  private readonly isolate: (err: unknown) => boolean;

  constructor(
    private readonly load: (items: T[]) => Promise<R[]>,
    options: BatcherOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 100;
    this.late = options.late ?? (() => new Error("deadline exceeded"));
    this.lingerMs = options.lingerMs ?? 0;
    this.isolate = options.isolate ?? (() => false);
  }

  run(item: T): Promise<R> {
    const deadline = currentDeadline() ?? Number.POSITIVE_INFINITY;
    return new Promise((resolve, reject) => {
      this.queue.push({ item, deadline, resolve, reject });
      if (this.lingering !== undefined && this.queue.length >= this.maxBatch) {
        // A full batch goes out without waiting.
        clearTimeout(this.lingering);
        this.lingering = undefined;
        this.scheduled = false;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        const go = () => {
          this.scheduled = false;
          this.lingering = undefined;
          this.pump();
        };
        this.home.runInAsyncScope(() => {
          if (this.lingerMs > 0 && this.queue.length < this.maxBatch)
            this.lingering = setTimeout(go, this.lingerMs);
          else setImmediate(go);
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const now = Date.now();
      const batch = this.queue.splice(0, this.maxBatch).filter((q) => {
        if (q.deadline > now) return true;
        q.reject(this.late());
        return false;
      });
      if (batch.length === 0) continue;
      this.inFlight++;
      const deadline = Math.min(...batch.map((b) => b.deadline));
      const settled =
        deadline === Number.POSITIVE_INFINITY
          ? this.settle(batch)
          : withDeadline(deadline, () => this.settle(batch));
      void settled.finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Loads a batch and answers its items; with `isolate`, halves of a failed batch again. */
  private async settle(batch: readonly Queued<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.load(batch.map((b) => b.item));
      if (results.length !== batch.length)
        throw new Error(`batch load answered ${String(results.length)} of ${String(batch.length)}`);
    } catch (err) {
      if (batch.length > 1 && this.isolate(err)) {
        const half = Math.ceil(batch.length / 2);
        await this.settle(batch.slice(0, half));
        await this.settle(batch.slice(half));
      } else for (const b of batch) b.reject(err);
      return;
    }
    batch.forEach((b, i) => {
      b.resolve(results[i] as R);
    });
  }
}
