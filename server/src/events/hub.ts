/**
 * The node's event hub: one reader follows the tail of the event log (every POLL_MS, and at once
 * when this node sequenced events) and hands each new batch to the subscriptions that are live.
 * Recent events stay in memory, so a subscription that starts or falls a little behind catches
 * up without reading the store; one further behind reads the store page by page, at its own
 * pace. A subscription's queue is bounded: when it is full the hub stops feeding it and it
 * catches up from memory or the store like a new one, so a slow subscriber never slows the hub,
 * the engine or the other subscribers. An idle subscription costs an object and a filter.
 */
import type { EventMatcher, LoggedEvent } from "../domain/events.js";
import { OutOfRangeError } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import { logState, readEvents } from "../store/engine/events.js";
import type { EngineDb } from "../store/engine/ops.js";

export interface HubOptions {
  /** How often the tail is read for events other nodes sequenced. */
  readonly pollMs: number;
  /** Recent events kept in memory. */
  readonly bufferEvents: number;
  /** …and at most about this many bytes of them. */
  readonly bufferBytes: number;
  /** Most events per message, and per store read. */
  readonly pageEvents: number;
  /** Most events queued for one subscription before it is left to catch up by itself. */
  readonly maxQueuedEvents: number;
  /** A subscription that received nothing for this long is sent its position. */
  readonly checkpointMs: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  pollMs: 25,
  bufferEvents: 20_000,
  bufferBytes: 64 * 1024 * 1024,
  pageEvents: 500,
  maxQueuedEvents: 2_000,
  checkpointMs: 2_000,
};

/** One message of a subscription (see SubscribeResponse). */
export interface StreamMessage {
  readonly events: readonly LoggedEvent[];
  readonly cursor: number;
  readonly live: boolean;
}

export type SubscriptionStart = { readonly fromNow: true } | { readonly afterCursor: number };

const ERROR_BACKOFF_MS = 1000;

export class EventHub {
  private head = 0;
  /** Every event with a cursor in (floor, head], in order. */
  private buffer: LoggedEvent[] = [];
  private bufferBytes = 0;
  private floor = 0;
  /** Catch-up reads under way (stop() waits for them before the store closes). */
  private readonly reads = new Set<Promise<unknown>>();
  private readonly live = new Set<Subscription>();
  private readonly all = new Set<Subscription>();
  private started = false;
  private stopped = false;
  private polling: Promise<void> | null = null;
  private again = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  readonly options: HubOptions;

  constructor(
    private readonly db: EngineDb,
    private readonly log: Logger,
    options: Partial<HubOptions> = {},
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...options };
  }

  /** The newest cursor this node has read. */
  get position(): number {
    return this.head;
  }

  get subscriptions(): number {
    return this.all.size;
  }

  /** Starts following the log from its current end. */
  async start(): Promise<void> {
    const state = await this.db.read(() => logState());
    this.head = state.last;
    this.floor = state.last;
    this.started = true;
    this.schedulePoll(this.options.pollMs);
    this.checkpointTimer = setInterval(() => {
      this.checkpoints();
    }, this.options.checkpointMs);
  }

  /** Ends every subscription (their streams end) and stops reading. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.checkpointTimer);
    for (const s of this.all) s.end();
    await this.polling;
    await Promise.allSettled([...this.reads]);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Read the tail now (this node just sequenced events). */
  poke(): void {
    if (!this.started || this.stopped) return;
    if (this.polling !== null) {
      this.again = true;
      return;
    }
    clearTimeout(this.pollTimer);
    this.polling = this.poll().finally(() => {
      this.polling = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.poke();
      }
    });
  }

  private schedulePoll(delay: number): void {
    if (this.stopped) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.poke();
    }, delay);
  }

  private async poll(): Promise<void> {
    let delay = this.options.pollMs;
    try {
      for (;;) {
        const limit = this.options.pageEvents * 2;
        const { events: batch } = await this.db.read(() =>
          readEvents(this.head, Number.MAX_SAFE_INTEGER, limit),
        );
        if (batch.length > 0) this.append(batch);
        if (batch.length < limit || this.stopped) break;
      }
    } catch (err) {
      this.log.warn({ err }, "reading the event log failed");
      delay = ERROR_BACKOFF_MS;
    }
    this.schedulePoll(delay);
  }

  private append(batch: readonly LoggedEvent[]): void {
    const last = batch[batch.length - 1];
    if (last === undefined) return;
    this.head = last.cursor;
    this.buffer.push(...batch);
    for (const e of batch) this.bufferBytes += e.bytes ?? 0;
    // Trimmed in chunks, so that the copy is paid once per many batches.
    let excess = this.buffer.length - this.options.bufferEvents;
    if (excess > this.options.bufferEvents / 4 || this.bufferBytes > this.options.bufferBytes) {
      excess = Math.max(excess, 0);
      let bytes = this.bufferBytes;
      for (const e of this.buffer.slice(0, excess)) bytes -= e.bytes ?? 0;
      while (bytes > this.options.bufferBytes * 0.75 && excess < this.buffer.length)
        bytes -= this.buffer[excess++]?.bytes ?? 0;
      if (excess > 0) {
        this.floor = this.buffer[excess - 1]?.cursor ?? this.floor;
        this.buffer = this.buffer.slice(excess);
        this.bufferBytes = bytes;
      }
    }
    let parts: (readonly LoggedEvent[])[] | undefined;
    const shared = () => (parts ??= chunk(batch, this.options.pageEvents));
    for (const s of this.live) this.feed(s, batch, shared);
  }

  private feed(
    s: Subscription,
    batch: readonly LoggedEvent[],
    shared: () => readonly (readonly LoggedEvent[])[],
  ): void {
    let parts: readonly (readonly LoggedEvent[])[];
    let count = 0;
    if (s.matcher.matchesAll && (batch[0]?.cursor ?? 0) > s.pos) {
      // Every event goes: the same message parts for every such subscriber (their encoding is
      // then done once, see api/services/events.ts).
      parts = shared();
      count = batch.length;
    } else {
      const matched: LoggedEvent[] = [];
      for (const e of batch) if (e.cursor > s.pos && s.matcher.matches(e)) matched.push(e);
      parts = chunk(matched, this.options.pageEvents);
      count = matched.length;
    }
    if (count > 0) {
      if (s.queuedEvents + count > this.options.maxQueuedEvents) {
        // Too slow: it catches up by itself from what it has queued (its position stays).
        this.log.info(
          { position: s.pos, queued: s.queuedEvents },
          "a subscriber fell behind; it catches up from memory or the store",
        );
        this.live.delete(s);
        s.attached = false;
        s.wake();
        return;
      }
      parts.forEach((events, i) => {
        s.enqueue({ events, cursor: i === parts.length - 1 ? this.head : 0, live: true });
      });
    }
    if (this.head > s.pos) s.pos = this.head;
    if (count > 0) s.wake();
  }

  private checkpoints(): void {
    for (const s of this.live) {
      if (s.idle && s.pos > s.sentCursor) {
        s.enqueue({ events: [], cursor: s.pos, live: true });
        s.wake();
      }
    }
  }

  /**
   * A new subscription. From a cursor, checks it against the log (OUT_OF_RANGE when older than
   * the retention or newer than the newest event); from now, starts at the newest event this
   * node has read.
   */
  async subscribe(matcher: EventMatcher, start: SubscriptionStart): Promise<Subscription> {
    if (!this.started || this.stopped) throw new Error("the event hub is not running");
    let pos: number;
    if ("fromNow" in start) pos = this.head;
    else {
      const after = start.afterCursor;
      const state = await this.db.read(() => logState());
      if (after < state.pruned)
        throw new OutOfRangeError(
          `after_cursor ${String(after)} is older than the event retention: events up to ${String(state.pruned)} were deleted`,
        );
      if (after > state.last)
        throw new OutOfRangeError(
          `after_cursor ${String(after)} is newer than the newest event (${String(state.last)})`,
        );
      pos = after;
    }
    const s = new Subscription(this, matcher, pos);
    this.all.add(s);
    return s;
  }

  /** @internal */
  forget(s: Subscription): void {
    this.all.delete(s);
    this.live.delete(s);
  }

  /**
   * @internal One step of a subscription that is not live: the next message of its backlog, or
   * null when it has just become live (its first live message is queued).
   */
  async catchUp(s: Subscription): Promise<StreamMessage | null> {
    const page = this.options.pageEvents;
    if (s.pos >= this.floor) {
      // In memory: everything after its position is in the buffer.
      let i = lowerBound(this.buffer, s.pos);
      const events: LoggedEvent[] = [];
      for (; i < this.buffer.length && events.length < page; i++) {
        const e = this.buffer[i];
        if (e !== undefined && s.matcher.matches(e)) events.push(e);
      }
      if (i < this.buffer.length) {
        s.pos = this.buffer[i - 1]?.cursor ?? s.pos;
        return { events, cursor: s.pos, live: false };
      }
      // Caught up: from here the hub feeds it, in the same turn as the buffer was read.
      s.pos = Math.max(s.pos, this.head);
      s.attached = true;
      this.live.add(s);
      s.enqueue({ events, cursor: s.pos, live: true });
      return null;
    }
    // From the store, up to what this node has read (a prefix of the log: nothing below it can
    // still appear), narrowed by the filter in SQL.
    const upTo = this.head;
    const from = s.pos;
    const reading = (async () => {
      const read = await this.db.read(() => readEvents(from, upTo, page, s.matcher));
      // Retention may have deleted events after `from` before that read: it records what it
      // deleted in the same transaction, so reading the record afterwards tells.
      return { read, state: await this.db.read(() => logState()) };
    })();
    this.reads.add(reading);
    const { read, state } = await reading.finally(() => this.reads.delete(reading));
    if (state.pruned > from)
      throw new OutOfRangeError(
        `the subscription fell behind the event retention: events up to ${String(state.pruned)} were deleted`,
      );
    s.pos = read.through;
    return read.events.length > 0 ? { events: read.events, cursor: s.pos, live: false } : null;
  }
}

function chunk<T>(items: readonly T[], size: number): (readonly T[])[] {
  if (items.length <= size) return items.length === 0 ? [] : [items];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The index of the first event with a cursor above `cursor`. */
function lowerBound(events: readonly LoggedEvent[], cursor: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid]?.cursor ?? 0) <= cursor) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One subscriber's stream: an async iterable of messages. Its position (`pos`) is the cursor up
 * to which every matching event has been queued or sent.
 */
export class Subscription implements AsyncIterable<StreamMessage> {
  pos: number;
  /** Fed by the hub. */
  attached = false;
  queuedEvents = 0;
  /** The cursor of the last message handed to the stream. */
  sentCursor: number;
  private readonly queue: StreamMessage[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly hub: EventHub,
    readonly matcher: EventMatcher,
    pos: number,
  ) {
    this.pos = pos;
    this.sentCursor = pos;
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
    this.hub.forget(this);
    this.wake();
  }

  async next(): Promise<IteratorResult<StreamMessage>> {
    for (;;) {
      if (this.ended) return { value: undefined, done: true };
      const m = this.queue.shift();
      if (m !== undefined) {
        this.queuedEvents -= m.events.length;
        // A message split in parts carries the position on its last part only.
        const cursor = m.cursor === 0 ? (m.events[m.events.length - 1]?.cursor ?? 0) : m.cursor;
        this.sentCursor = cursor;
        return { value: { ...m, cursor }, done: false };
      }
      if (this.attached) {
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
        continue;
      }
      const caught = await this.hub.catchUp(this);
      if (caught !== null) {
        this.sentCursor = caught.cursor;
        return { value: caught, done: false };
      }
    }
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
