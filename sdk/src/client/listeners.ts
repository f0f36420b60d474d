/**
 * A scheduler's listeners (APScheduler's `add_listener`): one event stream for all of them,
 * filtered by the union of their masks, replaced by a wider one when a listener wants more
 * types. Each event of the scheduler (and each node and worker event, which belong to no
 * scheduler) is given to the listeners whose mask has its type, once and in order.
 *
 * A replacing stream resumes where the old one was, which may be up to 2 s behind (the server
 * moves a filtered stream's position on every 2 s while nothing matches): until it is live it
 * catches up on events committed before the new listener was added. While it catches up, each
 * listener is given only the types it was already given (`settled`); a listener added meanwhile
 * gets its events once the stream is live, from the message after its first live one (whose
 * events were committed before `listening()` resolves: the server puts the last of the backlog
 * in it). A stream replaced again while it catches up leaves its listeners as they were; once a
 * stream has been live, a reconnection (which catches up again) withholds nothing.
 */
import type { WorkerLogger } from "../logger.js";
import type { EventStream } from "./event-stream.js";
import { eventCode, typesOfMask, type MetronomeEvent } from "./events.js";
import type { ClientServices } from "./services.js";

/** A listener: called with each matching event, in order; a returned promise is awaited. */
export type Listener = (event: MetronomeEvent) => void | Promise<void>;

/** A listener's mask, and what it is given while the stream catches up. */
interface Entry {
  mask: number;
  /**
   * The types it is given while the stream catches up (has not been live yet): those it was
   * given before the stream was replaced. All of `mask` once the stream has been live.
   */
  settled: number;
}

export class Listeners {
  private readonly listeners = new Map<Listener, Entry>();
  private stream: EventStream | undefined;
  private pump: Promise<void> | undefined;
  private streamMask = 0;
  /** The stream resumes from a cursor (it catches up before it is live); else from now. */
  private resumed = false;

  constructor(
    private readonly client: Pick<ClientServices, "subscribe">,
    /** The scheduler's name: events of other schedulers are not given. */
    private readonly scheduler: string,
    private readonly log: WorkerLogger,
  ) {}

  add(listener: Listener, mask: number): void {
    typesOfMask(mask); // throws on a mask that is not one
    this.settle();
    // Added again with another mask: while the stream catches up, it keeps being given the
    // types it had (and no others).
    const had = this.listeners.get(listener)?.settled ?? 0;
    this.listeners.set(listener, { mask, settled: had & mask });
    this.follow();
    this.settle();
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

  /**
   * Once the stream has been live, or when it reads from now (nothing older than itself),
   * every listener is given all its types.
   */
  private settle(): void {
    const stream = this.stream;
    if (stream === undefined || (this.resumed && !stream.hasBeenLive)) return;
    for (const entry of this.listeners.values()) entry.settled = entry.mask;
  }

  /** (Re)subscribes when the listeners want types the current stream does not carry. */
  private follow(): void {
    let mask = 0;
    for (const e of this.listeners.values()) mask |= e.mask;
    if (this.stream !== undefined && (mask & ~this.streamMask) === 0) return;
    // Resume where the stream is: every event up to its position was handed to the listeners
    // or did not match their masks, and a closed stream yields nothing more, so that none is
    // given twice or falls between the two streams. What it catches up on goes only to the
    // listeners that were given those types (see `settled`): a new listener gets no event
    // older than itself. Without a stream (no listener until now), from now.
    const previous = this.stream;
    const after = previous?.cursor;
    previous?.close();
    this.streamMask = mask;
    this.resumed = after !== undefined;
    const stream = this.client.subscribe({
      filter: { types: typesOfMask(mask) },
      afterCursor: after,
    });
    this.stream = stream;
    const resumed = this.resumed;
    const prior = this.pump ?? Promise.resolve();
    this.pump = prior.then(() => this.deliver(stream, resumed));
  }

  private async deliver(stream: EventStream, resumed: boolean): Promise<void> {
    try {
      // `hasBeenLive` is read as each event is handed out: false for those of the first live
      // message, true from the next message on (across reconnections too).
      for await (const event of stream) await this.dispatch(event, resumed && !stream.hasBeenLive);
    } catch (err) {
      this.log.error({ err }, "the event stream of the listeners ended with an error");
      // The next addListener opens a new stream (from now: this one cannot go on).
      if (this.stream === stream) {
        this.stream = undefined;
        this.streamMask = 0;
      }
    }
  }

  /** Gives `event` to the listeners of its type (while `catchingUp`, to those settled on it). */
  private async dispatch(event: MetronomeEvent, catchingUp: boolean): Promise<void> {
    if ("scheduler" in event && event.scheduler !== this.scheduler) return;
    const bit = eventCode(event.type);
    for (const [listener, entry] of [...this.listeners]) {
      if (((catchingUp ? entry.settled : entry.mask) & bit) === 0) continue;
      try {
        await listener(event);
      } catch (err) {
        this.log.error({ err, type: event.type, cursor: String(event.cursor) }, "listener failed");
      }
    }
  }
}
