/**
 * A scheduler as seen from a service: APScheduler-style listeners over the event stream.
 *
 * ```ts
 * const scheduler = new MetronomeClient({ baseUrl }).scheduler("default");
 * scheduler.addListener((event) => {
 *   if (event.type === "job_error") alert(event.jobId, event.error?.message);
 * }, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR);
 * ```
 */
import type { MetronomeClient } from "./client.js";
import {
  EVENT_ALL,
  eventCode,
  typesOfMask,
  type EventStream,
  type MetronomeEvent,
} from "./events.js";
import { childLogger, type WorkerLogger } from "./logger.js";

/** A listener: called with each matching event, in order; a returned promise is awaited. */
export type Listener = (event: MetronomeEvent) => void | Promise<void>;

export class Scheduler {
  private readonly listeners = new Map<Listener, number>();
  private stream: EventStream | undefined;
  private pump: Promise<void> | undefined;
  private streamMask = 0;
  private readonly log: WorkerLogger;

  constructor(
    readonly client: MetronomeClient,
    readonly name: string,
  ) {
    this.log = childLogger(client.logger, { scheduler: name });
  }

  /**
   * Calls `listener` with every later event of this scheduler (and the node and worker events,
   * which belong to no scheduler) whose type is in `mask` (EVENT_* constants combined with |).
   * Events are delivered once each and in order, across reconnections; a listener that throws
   * is logged and does not stop the others.
   */
  addListener(listener: Listener, mask: number = EVENT_ALL): void {
    typesOfMask(mask); // throws on a mask that is not one
    this.listeners.set(listener, mask);
    this.follow();
  }

  removeListener(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
  }

  /**
   * Resolves once the listeners receive live events (events committed from then on reach
   * them); at once when there is no listener.
   */
  listening(): Promise<void> {
    return this.stream?.whenLive() ?? Promise.resolve();
  }

  /** Stops the listeners' stream. */
  close(): void {
    this.listeners.clear();
    this.stop();
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
    // Resume where the old stream was, so no event falls between the two.
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
    }
  }

  private async dispatch(event: MetronomeEvent): Promise<void> {
    if ("scheduler" in event && event.scheduler !== this.name) return;
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
