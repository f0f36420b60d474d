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
 *
 * Scopes (docs/security.md): a filter naming the scheduler needs `events:<scheduler>`; one
 * without a scheduler, `events:*`. Node and worker events belong to no scheduler, so only the
 * latter carries them: the stream names the scheduler unless the listeners want node or worker
 * types, and when the server refuses the wider stream (PERMISSION_DENIED: the key has only
 * `events:<scheduler>`), a stream naming the scheduler replaces it, from the same position, and
 * the listeners get the scheduler's events only. API key events are no listener's (they belong
 * to no scheduler and are not node or worker events).
 */
import { PermissionDeniedError } from "../rpc-errors.js";
import type { WorkerLogger } from "../logger.js";
import type { EventStream } from "./event-stream.js";
import {
  EVENT_KEY_CREATED,
  EVENT_KEY_REVOKED,
  EVENT_SCHEDULER_SHUTDOWN,
  EVENT_SCHEDULER_STARTED,
  EVENT_WORKER_CONNECTED,
  EVENT_WORKER_DISCONNECTED,
  eventCode,
  typesOfMask,
  type MetronomeEvent,
} from "./events.js";
import type { ClientServices } from "./services.js";

/** The node and worker events: of no scheduler, given to every scheduler's listeners. */
const UNSCOPED =
  EVENT_SCHEDULER_STARTED |
  EVENT_SCHEDULER_SHUTDOWN |
  EVENT_WORKER_CONNECTED |
  EVENT_WORKER_DISCONNECTED;
/** API key events: given to no scheduler's listeners. */
const KEY_EVENTS = EVENT_KEY_CREATED | EVENT_KEY_REVOKED;

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
  /** The stream's filter names no scheduler (it carries node and worker events). */
  private unscoped = false;
  /** The server refused a filter without a scheduler: the key has no `events:*`. */
  private unscopedDenied = false;
  /** The error the last stream ended with, while no stream replaced it. */
  private failure: { readonly error: unknown } | undefined;
  /** Each stream's delivery: it has settled once the stream ended and was replaced or not. */
  private readonly deliveries = new WeakMap<EventStream, Promise<void>>();

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

  /**
   * Resolves once the stream is live; at once when there is no listener. Rejects with the error
   * the stream ended with (e.g. `PermissionDeniedError`), unless a stream naming the scheduler
   * replaced a refused wider one: then once that one is live.
   */
  async listening(): Promise<void> {
    for (;;) {
      const stream = this.stream;
      if (stream === undefined) {
        if (this.failure !== undefined && this.listeners.size > 0) throw this.failure.error;
        return;
      }
      try {
        await stream.whenLive();
        return;
      } catch (err) {
        // The stream failed: once its delivery has seen the error, it was replaced or not.
        await this.deliveries.get(stream);
        if (this.stream === undefined || this.stream === stream) throw err;
      }
    }
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
    this.failure = undefined;
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
    this.open(mask, after);
  }

  /**
   * Opens the listeners' stream for the types of `mask`, after `after` (else from now): without
   * a scheduler in its filter when node or worker types are wanted and the key was not refused
   * that, else naming the scheduler. Key events are never asked for.
   */
  private open(mask: number, after: bigint | undefined): void {
    this.streamMask = mask;
    this.resumed = after !== undefined;
    this.failure = undefined;
    const wanted = mask & ~KEY_EVENTS || mask; // a mask of key types only: a stream of nothing
    this.unscoped = (wanted & UNSCOPED) !== 0 && !this.unscopedDenied;
    const types = typesOfMask(wanted);
    const stream = this.client.subscribe({
      filter: this.unscoped ? { types } : { schedulers: [this.scheduler], types },
      afterCursor: after,
    });
    this.stream = stream;
    const resumed = this.resumed;
    const prior = this.pump ?? Promise.resolve();
    const delivery = prior.then(() => this.deliver(stream, resumed));
    this.deliveries.set(stream, delivery);
    this.pump = delivery;
  }

  private async deliver(stream: EventStream, resumed: boolean): Promise<void> {
    try {
      // `hasBeenLive` is read as each event is handed out: false for those of the first live
      // message, true from the next message on (across reconnections too).
      for await (const event of stream) await this.dispatch(event, resumed && !stream.hasBeenLive);
    } catch (err) {
      if (this.stream === stream && this.unscoped && err instanceof PermissionDeniedError) {
        // The key may not read events of no scheduler (it has `events:<scheduler>`, not
        // `events:*`): the scheduler's events only, from where the refused stream was (every
        // event up to its position was handed out; from now if it never got a message).
        this.unscopedDenied = true;
        this.log.warn(
          { err, scheduler: this.scheduler },
          "the listeners get only the scheduler's events: node and worker events need the events:* scope",
        );
        this.settle();
        this.open(this.streamMask, stream.cursor);
        return;
      }
      this.log.error({ err }, "the event stream of the listeners ended with an error");
      // The next addListener opens a new stream (from now: this one cannot go on);
      // `listening()` rejects with the error until then.
      if (this.stream === stream) {
        this.stream = undefined;
        this.streamMask = 0;
        this.failure = { error: err };
      }
    }
  }

  /** Gives `event` to the listeners of its type (while `catchingUp`, to those settled on it). */
  private async dispatch(event: MetronomeEvent, catchingUp: boolean): Promise<void> {
    const bit = eventCode(event.type);
    // The scheduler's events, and node and worker events; not other schedulers', nor key events.
    if ("scheduler" in event ? event.scheduler !== this.scheduler : (bit & UNSCOPED) === 0) return;
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
