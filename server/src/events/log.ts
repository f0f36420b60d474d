/**
 * The node's share of keeping the event log: the sequencer, which gives committed events their
 * cursors (EventStore.sequenceEvents; sql/events/sequence-events.ts explains why after commit),
 * and retention. Every node runs both: after each of its own operations that wrote events
 * without cursors, and every second for events a crashed node committed but did not sequence.
 * Where a store's commits give their events cursors themselves (EventStore.onEventsSequenced),
 * the listeners hear of those from the commit.
 */
import type { Clock } from "../clock.js";
import { Coalesced } from "../lib/coalesced.js";
import type { Logger } from "../logger.js";
import type { EventStore, Sequenced } from "../store/port.js";

/**
 * How long a sequencing run waits after it is asked for, so that the events of transactions
 * committing close together get their cursors in one operation (and subscribers one read):
 * with results, claims and leases committing a few hundred times a second at spread fire
 * times, each commit started a round of three or four round trips. Events reach subscribers up
 * to this much later.
 */
export const SEQUENCE_LINGER_MS = 2;
/** Batches of events given cursors per sequencer operation. */
const SEQUENCE_BATCH = 500;
/** How often a node looks for events left without a cursor (a node crashed in between). */
const SWEEP_EVERY_MS = 1000;
/** How often retention runs, and how many batches (rows) one of its operations deletes. */
const RETENTION_EVERY_MS = 30_000;
const PRUNE_BATCH = 200;

export interface EventLogConfig {
  readonly retentionMs: number;
  /**
   * Whether the events sequenced here are wanted as they are given cursors (the hub has
   * subscriptions): the sequencer then reads them with its rows, where the store can, and hands
   * them to its listeners.
   */
  readonly wantsEvents?: () => boolean;
}

export type EventLogStore = Pick<
  EventStore,
  | "onEventsCommitted"
  | "onEventsSequenced"
  | "sequenceEvents"
  | "sequenceEventsRead"
  | "hasUnsequenced"
  | "pruneEvents"
>;

export class EventLog {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private lastRetention = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<(sequenced: Sequenced | undefined) => void>();
  /** One sequencing run at a time, again after it if asked meanwhile. */
  private readonly sequencing = new Coalesced(() => this.sequence());

  constructor(
    private readonly store: EventLogStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: EventLogConfig,
  ) {
    // Events whose commit gave them their cursors (MySQL) go to the listeners from there; the
    // others are sequenced here.
    store.onEventsCommitted((_, sequenced) => {
      if (sequenced !== true) this.sequenceSoon();
    });
    store.onEventsSequenced?.(
      (sequenced) => {
        this.offer(sequenced);
      },
      () => this.config.wantsEvents?.() === true,
    );
  }

  /**
   * What a commit sequenced goes to the listeners at once. Held for 5 ms to join it with what
   * the next commits sequenced, the hub's own read of the log's tail read the events first (and
   * again after each offer that no longer followed its head) and latency doubled in
   * `bench events`; joined within the event loop's turn, no two commits were ever joined
   * (docs/benchmarks.md, twelfth session).
   */
  private offer(sequenced: Sequenced): void {
    if (this.stopped) return;
    const read = sequenced.events.length > 0 ? sequenced : undefined;
    for (const fn of this.listeners) fn(read);
  }

  /**
   * `fn` is called after events were given cursors (by this node), with them and the log's end
   * before them when they were read (see EventLogConfig.wantsEvents), else with undefined.
   */
  onSequenced(fn: (sequenced: Sequenced | undefined) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
    await this.sequencing.idle();
  }

  /** Sequence now (coalesced: one run at a time, again after it if asked meanwhile). */
  sequenceSoon(): void {
    if (this.stopped) return;
    this.sequencing.request();
  }

  /** Gives every committed event a cursor; answers once done (or the store failed). */
  async flush(): Promise<void> {
    this.sequenceSoon();
    await this.sequencing.idle();
  }

  private async sequence(): Promise<void> {
    // Never inside the caller's turn (on SQLite the listener runs as its transaction ends), and
    // after the commits of the next few milliseconds.
    await new Promise((resolve) => setTimeout(resolve, SEQUENCE_LINGER_MS));
    try {
      for (;;) {
        const read =
          this.store.sequenceEventsRead !== undefined && this.config.wantsEvents?.() === true
            ? await this.store.sequenceEventsRead(SEQUENCE_BATCH)
            : undefined;
        const n = read?.count ?? (await this.store.sequenceEvents(SEQUENCE_BATCH));
        if (n > 0) for (const fn of this.listeners) fn(read);
        if (n < SEQUENCE_BATCH || this.stopped) break;
      }
    } catch (err) {
      // The events stay without a cursor; the next sweep (or commit) sequences them.
      this.log.warn({ err }, "event sequencing failed");
    }
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep().finally(() => {
        this.sweeping = undefined;
        this.schedule(SWEEP_EVERY_MS);
      });
    }, delay);
  }

  private async sweep(): Promise<void> {
    try {
      if (await this.store.hasUnsequenced()) this.sequenceSoon();
      const now = this.clock.now();
      if (now - this.lastRetention >= RETENTION_EVERY_MS) {
        this.lastRetention = now;
        await this.prune(now - this.config.retentionMs);
      }
    } catch (err) {
      this.log.warn({ err }, "event log sweep failed");
    }
  }

  /**
   * Deletes events older than `before` (in cursor order, see EventStore.pruneEvents); answers
   * how many units (batches) were deleted.
   */
  async prune(before: number): Promise<number> {
    let deleted = 0;
    while (!this.stopped) {
      const n = await this.store.pruneEvents(before, PRUNE_BATCH);
      deleted += n;
      if (n < PRUNE_BATCH) break;
    }
    if (deleted > 0) this.log.debug({ batches: deleted }, "old events deleted");
    return deleted;
  }
}
