/**
 * Request coalescing for point reads: while `maxInFlight` queries are already running, further
 * keys wait and go out together in one query when one finishes. Under light load a key is sent
 * at once (no added latency); under heavy load queries carry many keys, so the database does
 * one round trip for many requests.
 */
export class Batcher<K, V> {
  private queue: { key: K; resolve: (v: V | null) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly load: (keys: K[]) => Promise<Map<string, V>>,
    private readonly keyOf: (key: K) => string,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 100,
  ) {}

  get(key: K): Promise<V | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.load(batch.map((b) => b.key))
        .then(
          (found) => {
            for (const b of batch) b.resolve(found.get(this.keyOf(b.key)) ?? null);
          },
          (err: unknown) => {
            for (const b of batch) b.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
