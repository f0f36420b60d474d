/**
 * Request coalescing for the hottest statements (point reads, single-row inserts): the items
 * that arrive during one turn of the event loop go out together, and while `maxInFlight`
 * batches are already at the database, further items wait and go out together when one
 * finishes. Under light load an item is sent at the end of the current turn (no timer, no added
 * latency worth measuring); under heavy load one round trip serves many requests, which is what
 * keeps the database client's per-call cost (socket writes, packet parsing) off each RPC.
 *
 * `load` receives the items of one batch and answers one result per item, in the same order.
 * A failed load rejects the items of that batch only.
 */
export class Batcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly load: (items: T[]) => Promise<R[]>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 100,
  ) {}

  run(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.load(batch.map((b) => b.item))
        .then((results) => {
          if (results.length !== batch.length)
            throw new Error(
              `batch load answered ${String(results.length)} of ${String(batch.length)}`,
            );
          batch.forEach((b, i) => {
            b.resolve(results[i] as R);
          });
        })
        .catch((err: unknown) => {
          for (const b of batch) b.reject(err);
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
