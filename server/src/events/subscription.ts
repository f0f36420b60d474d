/**
 * One subscriber's stream: an async iterable of messages. Its position (`pos`) is the cursor up
 * to which every matching event has been queued or sent. While attached, the hub feeds its queue
 * (live); otherwise it catches up by itself from the hub's memory or the store, page by page.
 * Once a live message was sent, every later one is live, also while it catches up again after
 * it fell behind (SubscribeResponse.live). While a catch-up finds nothing that matches, its
 * position is sent every checkpointMs.
 */
import type { EventMatcher, LoggedEvent } from "../domain/events.js";

/** One message of a subscription (see SubscribeResponse). */
export interface StreamMessage {
  readonly events: readonly LoggedEvent[];
  readonly cursor: number;
  readonly live: boolean;
  /**
   * When several queued messages were sent as one: their event lists, which the hub shares
   * between subscribers (each encoded once); `events` is their concatenation.
   */
  readonly parts?: readonly (readonly LoggedEvent[])[];
}

export type SubscriptionStart = { readonly fromNow: true } | { readonly afterCursor: number };

/** Where a subscription comes from (the hub). */
export interface SubscriptionSource {
  /** The subscription ended: forget it. */
  forget(s: Subscription): void;
  /**
   * One step of a subscription that is not live: the next message of its backlog (never live),
   * or null. Once it becomes live its first live message is queued (after the backlog's last
   * message, when that is the answer).
   */
  catchUp(s: Subscription): Promise<StreamMessage | null>;
  /** A catch-up that sent nothing for this long sends its position. */
  readonly checkpointMs: number;
  now(): number;
}

export class Subscription implements AsyncIterable<StreamMessage> {
  pos: number;
  /** Fed by the hub. */
  attached = false;
  queuedEvents = 0;
  /** The cursor of the last message handed to the stream. */
  sentCursor: number;
  /** A live message was handed to the stream: every later one is live. */
  wentLive = false;
  private readonly queue: StreamMessage[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly source: SubscriptionSource,
    readonly matcher: EventMatcher,
    pos: number,
    /** The most events in one message when queued messages are sent together. */
    private readonly maxEvents = 500,
    /**
     * Where the log ended when the subscription started: it is live once every event up to
     * there was sent.
     */
    readonly liveAt = pos,
  ) {
    this.pos = pos;
    this.sentCursor = pos;
  }

  /** Fed by the hub (catchUp may have attached it meanwhile). */
  private isAttached(): boolean {
    return this.attached;
  }

  /** Nothing queued. */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  enqueue(m: StreamMessage): void {
    this.queue.push(m);
    this.queuedEvents += m.events.length;
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The stream ends (the hub stops). */
  end(): void {
    this.ended = true;
    this.wake();
  }

  close(): void {
    this.ended = true;
    this.source.forget(this);
    this.wake();
  }

  async next(): Promise<IteratorResult<StreamMessage>> {
    /** When this call started catching up (nothing was sent since). */
    let since: number | undefined;
    for (;;) {
      if (this.ended) return { value: undefined, done: true };
      const m = this.take();
      if (m !== undefined) {
        this.queuedEvents -= m.events.length;
        // A message split in parts carries the position on its last part only.
        const cursor = m.cursor === 0 ? (m.events[m.events.length - 1]?.cursor ?? 0) : m.cursor;
        this.sentCursor = cursor;
        if (m.live) this.wentLive = true;
        return { value: { ...m, cursor }, done: false };
      }
      if (this.attached) {
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
        continue;
      }
      since ??= this.source.now();
      const caught = await this.source.catchUp(this);
      if (caught !== null) {
        this.sentCursor = caught.cursor;
        return { value: this.wentLive ? { ...caught, live: true } : caught, done: false };
      }
      // Nothing matched in what that step read (a narrow filter over a long stretch of the log):
      // the position goes out every checkpointMs, so that a resume does not read it all again.
      if (
        !this.isAttached() &&
        this.pos > this.sentCursor &&
        this.source.now() - since >= this.source.checkpointMs
      ) {
        this.sentCursor = this.pos;
        return { value: { events: [], cursor: this.pos, live: this.wentLive }, done: false };
      }
    }
  }

  /**
   * The next queued message; when the subscriber is behind (more are queued), the following ones
   * join it up to `maxEvents` events: fewer, larger writes for both sides, and the parts keep
   * their shared encoding.
   */
  private take(): StreamMessage | undefined {
    const first = this.queue.shift();
    const next = this.queue[0];
    if (first === undefined || next === undefined || next.live !== first.live) return first;
    const parts: (readonly LoggedEvent[])[] = [first.events];
    let count = first.events.length;
    let last = first;
    for (
      let m = this.queue[0];
      m !== undefined && m.live === first.live && count + m.events.length <= this.maxEvents;
      m = this.queue[0]
    ) {
      this.queue.shift();
      parts.push(m.events);
      count += m.events.length;
      last = m;
    }
    if (parts.length === 1) return first;
    const nonEmpty = parts.filter((p) => p.length > 0);
    return {
      events: nonEmpty.flat(),
      cursor: last.cursor,
      live: first.live,
      parts: nonEmpty,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamMessage> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
