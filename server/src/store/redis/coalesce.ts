/**
 * Calls made at about the same time, sent as one: the items asked for until the event loop
 * turns (an AddJobs call's thousand inserts, say) go to Redis in one script call, up to `max`
 * each, instead of a round trip and a script run each. Each caller gets its own item's answer,
 * bounded by its own deadline; the shared call is bounded by none of theirs.
 */
import { withDeadline } from "../../lib/deadline.js";

export class Coalescer<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    /** Answers the items' outcomes, in their order. */
    private readonly send: (items: readonly I[]) => Promise<readonly O[]>,
    private readonly max: number,
  ) {}

  /** The item's outcome, once the call that sends it has answered. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length === 1)
        setImmediate(() => {
          this.flush();
        });
    });
  }

  private flush(): void {
    const all = this.queue;
    this.queue = [];
    for (let i = 0; i < all.length; i += this.max) {
      const part = all.slice(i, i + this.max);
      withDeadline(Number.POSITIVE_INFINITY, () => this.send(part.map((p) => p.item))).then(
        (outs) => {
          part.forEach((p, k) => {
            const o = outs[k];
            if (o === undefined) p.reject(new Error("a coalesced call answered too few outcomes"));
            else p.resolve(o);
          });
        },
        (err: unknown) => {
          for (const p of part) p.reject(err);
        },
      );
    }
  }
}
