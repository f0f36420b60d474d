/**
 * A scheduler's listeners (APScheduler's `add_listener`): one event stream for all of them,
 * filtered by the union of their masks, replaced by a wider one when a listener wants more
 * types. Each event of the scheduler (and each node and worker event, which belong to no
 * scheduler) is given to the listeners whose mask has its type, once and in order.
 */
import type { WorkerLogger } from "../logger.js";
import type { EventStream } from "./event-stream.js";
import { eventCode, typesOfMask, type MetronomeEvent } from "./events.js";
import type { ClientServices } from "./services.js";

/** A listener: called with each matching event, in order; a returned promise is awaited. */
export type Listener = (event: MetronomeEvent) => void | Promise<void>;

export class Listeners {
  private readonly listeners = new Map<Listener, number>();
  private stream: EventStream | undefined;
  private pump: Promise<void> | undefined;
  private streamMask = 0;

  constructor(
    private readonly client: Pick<ClientServices, "subscribe">,
    /** The scheduler's name: events of other schedulers are not given. */
    private readonly scheduler: string,
    private readonly log: WorkerLogger,
  ) {}

  add(listener: Listener, mask: number): void {
    typesOfMask(mask); // throws on a mask that is not one
    this.listeners.set(listener, mask);
    this.follow();
  }

  remove(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
  }

  /** Resolves once the stream is live; at once when there is no listener. */
  listening(): Promise<void> {
    return this.stream?.whenLive() ?? Promise.resolve();
  }

  /** Removes every listener and ends the stream. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  /** Closes, and resolves once the last event being dispatched was. */
  shutdown(): Promise<void> {
    this.close();
    return this.pump ?? Promise.resolve();
  }

  private stop(): void {
    this.stream?.close();
    this.stream = undefined;
    this.streamMask = 0;
  }

  /** (Re)subscribes when the listeners want types the current stream does not carry. */
  private follow(): void {
    let mask = 0;
    for (const m of this.listeners.values()) mask |= m;
    if (this.stream !== undefined && (mask & ~this.streamMask) === 0) return;
    // Resume where the stream is: every event up to its position was handed to the listeners
    // or did not match their masks, and a closed stream yields nothing more, so that none is
    // given twice or falls between the two streams, and a new listener gets no event older
    // than itself. Without a stream (no listener until now), from now.
    const previous = this.stream;
    const after = previous?.cursor;
    previous?.close();
    this.streamMask = mask;
    const stream = this.client.subscribe({
      filter: { types: typesOfMask(mask) },
      afterCursor: after,
    });
    this.stream = stream;
    const prior = this.pump ?? Promise.resolve();
    this.pump = prior.then(() => this.deliver(stream));
  }

  private async deliver(stream: EventStream): Promise<void> {
    try {
      for await (const event of stream) await this.dispatch(event);
    } catch (err) {
      this.log.error({ err }, "the event stream of the listeners ended with an error");
      // The next addListener opens a new stream (from now: this one cannot go on).
      if (this.stream === stream) {
        this.stream = undefined;
        this.streamMask = 0;
      }
    }
  }

  private async dispatch(event: MetronomeEvent): Promise<void> {
    if ("scheduler" in event && event.scheduler !== this.scheduler) return;
    const bit = eventCode(event.type);
    for (const [listener, mask] of [...this.listeners]) {
      if ((mask & bit) === 0) continue;
      try {
        await listener(event);
      } catch (err) {
        this.log.error({ err, type: event.type, cursor: String(event.cursor) }, "listener failed");
      }
    }
  }
}
