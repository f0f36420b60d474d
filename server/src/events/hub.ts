/**
 * The node's event hub: one reader follows the tail of the event log (every POLL_MS, and at once
 * when this node sequenced events) and hands each new batch to the subscriptions that are live;
 * while the node has no subscription it follows only the log's end, every IDLE_POLL_MS, reading
 * no events.
 * Recent events stay in memory (buffer.ts), so a subscription that starts or falls a little
 * behind catches up without reading the store; one further behind reads the store page by page,
 * at its own pace. A subscription's queue is bounded: when it is full the hub stops feeding it
 * and it catches up from memory or the store like a new one, so a slow subscriber never slows the
 * hub, the engine or the other subscribers. An idle subscription costs an object and a filter.
 */
import type { EventMatcher, LoggedEvent } from "../domain/events.js";
import { OutOfRangeError } from "../domain/errors.js";
import { chunks } from "../lib/chunks.js";
import { Coalesced } from "../lib/coalesced.js";
import type { Logger } from "../logger.js";
import type { EventStore, Sequenced } from "../store/port.js";
import { RecentEvents } from "./buffer.js";
import {
  Subscription,
  type StreamMessage,
  type SubscriptionSource,
  type SubscriptionStart,
} from "./subscription.js";

export { Subscription, type StreamMessage, type SubscriptionStart } from "./subscription.js";

export interface HubOptions {
  /** How often the tail is read for events other nodes sequenced. */
  readonly pollMs: number;
  /**
   * How often the log's end is read while no subscription is here (it keeps the cursor metric
   * current; a subscription reads the end itself when it starts).
   */
  readonly idlePollMs: number;
  /** Recent events kept in memory. */
  readonly bufferEvents: number;
  /** …and at most about this many bytes of them. */
  readonly bufferBytes: number;
  /** Most events per message, and per store read. */
  readonly pageEvents: number;
  /** Most events queued for one subscription before it is left to catch up by itself. */
  readonly maxQueuedEvents: number;
  /**
   * A subscription that received nothing for this long is sent its position (live, or catching
   * up without a match).
   */
  readonly checkpointMs: number;
  /** Milliseconds of a monotonic enough clock: when a catch-up's checkpoint is due. */
  readonly now: () => number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  pollMs: 25,
  idlePollMs: 1000,
  bufferEvents: 20_000,
  bufferBytes: 64 * 1024 * 1024,
  pageEvents: 500,
  maxQueuedEvents: 2_000,
  checkpointMs: 2_000,
  now: () => Date.now(),
};

const ERROR_BACKOFF_MS = 1000;

/**
 * What the hub reads; with the sequencer's two calls, a subscription first gives their cursors
 * to events committed before it and still waiting for one (see settle).
 */
export type HubStore = Pick<EventStore, "logState" | "readEvents"> &
  Partial<Pick<EventStore, "hasUnsequenced" | "sequenceEvents">>;

/** Batches given cursors per sequencer operation when a subscription settles the log. */
const SETTLE_BATCH = 500;

export class EventHub implements SubscriptionSource {
  private readonly recent: RecentEvents;
  /** Catch-up reads under way (stop() waits for them before the store closes). */
  private readonly reads = new Set<Promise<unknown>>();
  private readonly live = new Set<Subscription>();
  private readonly all = new Set<Subscription>();
  private started = false;
  private stopped = false;
  /** Called with every batch the hub reads, or [] when it caught up without reading (metrics). */
  private readonly observers = new Set<(batch: readonly LoggedEvent[]) => void>();
  /** One tail read at a time, again after it if poked meanwhile. */
  private readonly polling = new Coalesced(() => this.poll());
  private pollTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  readonly options: HubOptions;

  constructor(
    private readonly store: HubStore,
    private readonly log: Logger,
    options: Partial<HubOptions> = {},
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...options };
    this.recent = new RecentEvents(this.options.bufferEvents, this.options.bufferBytes);
  }

  /** The newest cursor this node has read. */
  get position(): number {
    return this.recent.head;
  }

  get checkpointMs(): number {
    return this.options.checkpointMs;
  }

  now(): number {
    return this.options.now();
  }

  get subscriptions(): number {
    return this.all.size;
  }

  /** Starts following the log from its current end. */
  async start(): Promise<void> {
    const state = await this.store.logState();
    this.recent.reset(state.last);
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
    await this.polling.idle();
    await Promise.allSettled([...this.reads]);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Events were sequenced (by this node, or another one that says so): read the tail now — when
   * a subscription here reads events. A node without subscribers follows the log's end at its
   * poll only (a subscription from now reads the end itself, see subscribe): reading the end
   * after every sequencing was a round trip per sequencer operation (~130 a second at 1,000
   * runs a second) for nobody.
   */
  poke(): void {
    if (!this.started || this.stopped || this.unwatched()) return;
    this.polling.request();
  }

  /**
   * Events this node sequenced, read by the sequencer, with the log's end before them: when the
   * hub holds every event up to that end, they are the next ones and are handed on without
   * reading the log (a round trip, behind the read under way if any, saved per sequencing);
   * otherwise (another node sequenced in between, not read here yet) the tail is read.
   */
  offer(sequenced: Sequenced): void {
    if (!this.started || this.stopped || this.unwatched()) return;
    if (sequenced.events.length > 0 && sequenced.after === this.recent.head)
      this.append(sequenced.events);
    else this.poke();
  }

  private schedulePoll(delay: number): void {
    if (this.stopped) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.polling.request();
    }, delay);
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.pollTimer);
    let delay = this.options.pollMs;
    try {
      if (this.unwatched()) {
        // No subscriber here: follow only the log's end (where a subscription from now starts;
        // one from an older cursor reads the store). Reading and keeping every event for nobody
        // was a tenth of a busy node's CPU and most of its garbage.
        // (A subscription that came meanwhile started at the old end: it reads the store.)
        // Every POLL_MS, that was ~40 statements a second on an idle node, a third of the
        // statements of one firing 2,000 runs a second.
        this.followEnd((await this.store.logState()).last);
        this.tellObservers([]);
        this.schedulePoll(this.unwatched() ? this.options.idlePollMs : delay);
        return;
      }
      for (;;) {
        const limit = this.options.pageEvents * 2;
        const { events: batch } = await this.store.readEvents(
          this.recent.head,
          Number.MAX_SAFE_INTEGER,
          limit,
        );
        // Events offered while this read was under way are held already (see offer).
        const head = this.recent.head;
        const fresh =
          (batch[0]?.cursor ?? head + 1) > head ? batch : batch.filter((e) => e.cursor > head);
        if (fresh.length > 0) this.append(fresh);
        if (batch.length < limit || this.isStopped) break;
      }
    } catch (err) {
      this.log.warn({ err }, "reading the event log failed");
      delay = ERROR_BACKOFF_MS;
    }
    this.schedulePoll(delay);
  }

  /**
   * Calls `observer` with every batch of events the hub reads for its subscribers, in cursor
   * order, and with [] each time it caught up with the log's end without reading (no subscriber
   * here). An observer does not make the hub read: it sees what is read anyway.
   */
  observe(observer: (batch: readonly LoggedEvent[]) => void): void {
    this.observers.add(observer);
  }

  /** While no subscription reads events here: the log ends at `last` (no events read). */
  private followEnd(last: number): void {
    if (last > this.recent.head && this.unwatched()) this.recent.reset(last);
  }

  /** No subscription on this node reads events. */
  private unwatched(): boolean {
    return this.all.size === 0;
  }

  private tellObservers(batch: readonly LoggedEvent[]): void {
    for (const o of this.observers)
      try {
        o(batch);
      } catch (err) {
        this.log.warn({ err }, "an event observer failed");
      }
  }

  private append(batch: readonly LoggedEvent[]): void {
    this.recent.append(batch);
    this.tellObservers(batch);
    let parts: (readonly LoggedEvent[])[] | undefined;
    const shared = () => (parts ??= pages(batch, this.options.pageEvents));
    for (const s of this.live) this.feed(s, batch, shared);
  }

  private feed(
    s: Subscription,
    batch: readonly LoggedEvent[],
    shared: () => readonly (readonly LoggedEvent[])[],
  ): void {
    const head = this.recent.head;
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
      parts = pages(matched, this.options.pageEvents);
      count = matched.length;
    }
    if (count > 0) {
      // A batch larger than the bound (one transaction's 2,001 events) goes to a subscriber
      // that has read everything queued: only one that has not is too slow.
      if (s.queuedEvents > 0 && s.queuedEvents + count > this.options.maxQueuedEvents) {
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
        s.enqueue({ events, cursor: i === parts.length - 1 ? head : 0, live: true });
      });
    }
    if (head > s.pos) s.pos = head;
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
   * A new subscription. Reads where the log ends (one statement, after settle), so that it
   * starts from the log as the call found it, whatever this node has read so far: from now,
   * it starts there (no event of a call answered before it reaches it); from a cursor, it
   * checks the cursor against the log (OUT_OF_RANGE when older than the retention or newer than
   * the newest event) and is live only once it has sent every event up to there.
   */
  async subscribe(matcher: EventMatcher, start: SubscriptionStart): Promise<Subscription> {
    if (!this.started || this.stopped) throw new Error("the event hub is not running");
    await this.settle();
    const state = await this.store.logState();
    // A node without subscriptions follows the log's end at its poll only (see poke): it starts
    // from the end read here.
    this.followEnd(state.last);
    let pos: number;
    if ("fromNow" in start) {
      // Every event up to what the hub read meanwhile was committed before this line too.
      pos = Math.max(state.last, this.recent.head);
    } else {
      const after = start.afterCursor;
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
    const s = new Subscription(this, matcher, pos, this.options.pageEvents, state.last);
    const wasIdle = this.unwatched();
    this.all.add(s);
    // From the idle poll to the tail's: events other nodes sequence reach it within POLL_MS.
    if (wasIdle) this.schedulePoll(this.options.pollMs);
    return s;
  }

  /**
   * Gives their cursors to the events committed before now (by any node) that still wait for
   * one: an event committed before a call (its AddJob answered) gets its cursor up to a few
   * milliseconds later (events/log.ts), after the log's end the call reads, and would reach a
   * subscription from now, or come after a catch-up said it was live. One cheap read when none
   * waits (an index lookup), else the sequencer's operation, which the node would run anyway
   * within milliseconds.
   */
  private async settle(): Promise<void> {
    if (this.store.hasUnsequenced === undefined || this.store.sequenceEvents === undefined) return;
    if (!(await this.store.hasUnsequenced())) return;
    let given = SETTLE_BATCH;
    while (given === SETTLE_BATCH && !this.stopped)
      given = await this.store.sequenceEvents(SETTLE_BATCH);
    // Sequenced here, not by the event log: the reader learns of them from this.
    this.poke();
  }

  forget(s: Subscription): void {
    this.all.delete(s);
    this.live.delete(s);
  }

  async catchUp(s: Subscription): Promise<StreamMessage | null> {
    const page = this.options.pageEvents;
    // In memory: everything after its position is in the buffer, and what the hub has read
    // reaches where the log ended when it subscribed (else that part is read from the store).
    if (this.recent.holdsAfter(s.pos) && Math.max(s.pos, this.recent.head) >= s.liveAt) {
      const { events, through } = this.recent.after(s.pos, s.matcher, page);
      if (through !== null) {
        s.pos = through;
        return { events, cursor: s.pos, live: false };
      }
      // Caught up: from here the hub feeds it, in the same turn as the buffer was read. Its
      // last page of replayed events is not live (as from the store): they go first, then an
      // empty live message, queued before anything the hub feeds it. (A subscription that is
      // caught up again after it fell behind said so already: its messages stay live.)
      s.pos = Math.max(s.pos, this.recent.head);
      s.attached = true;
      this.live.add(s);
      if (!s.wentLive) s.enqueue({ events: [], cursor: s.pos, live: true });
      return events.length > 0 ? { events, cursor: s.pos, live: false } : null;
    }
    // From the store, up to what this node has read or where the log ended when it subscribed
    // (each a prefix of the log: nothing below it can still appear), narrowed by the filter.
    const upTo = Math.max(this.recent.head, s.liveAt);
    const from = s.pos;
    const reading = (async () => {
      const read = await this.store.readEvents(from, upTo, page, s.matcher);
      // Retention may have deleted events after `from` before that read: it records what it
      // deleted in the same transaction, so reading the record afterwards tells.
      return { read, state: await this.store.logState() };
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

/** Events in message-sized parts (one part, the same array, when they fit). */
function pages<T>(items: readonly T[], size: number): (readonly T[])[] {
  if (items.length <= size) return items.length === 0 ? [] : [items];
  return chunks(items, size);
}
