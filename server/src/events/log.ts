/**
 * The node's share of keeping the event log: the sequencer, which gives committed events their
 * cursors (store/engine/events.ts explains why after commit), and retention. Every node runs
 * both: after each of its own transactions that wrote events, and every second for events a
 * crashed node committed but did not sequence.
 */
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import { hasUnsequenced, pruneEvents, sequenceEvents } from "../store/engine/events.js";
import type { EngineDb } from "../store/engine/ops.js";

/** Batches of events given cursors per sequencer transaction. */
const SEQUENCE_BATCH = 500;
/** How often a node looks for events left without a cursor (a node crashed in between). */
const SWEEP_EVERY_MS = 1000;
/** How often retention runs, and how many batches (rows) one of its transactions deletes. */
const RETENTION_EVERY_MS = 30_000;
const PRUNE_BATCH = 200;

export interface EventLogConfig {
  readonly retentionMs: number;
}

export class EventLog {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private lastRetention = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<() => void>();

  constructor(
    /** Announces commits of events. */
    commits: EngineDb,
    /** Where the log's own statements run. */
    private readonly db: EngineDb,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: EventLogConfig,
  ) {
    commits.onEventsCommitted(() => {
      this.sequenceSoon();
    });
  }

  /** `fn` is called after events were given cursors (by this node). */
  onSequenced(fn: () => void): () => void {
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
    await this.running;
  }

  /** Sequence now (coalesced: one run at a time, again after it if asked meanwhile). */
  sequenceSoon(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.sequence().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.sequenceSoon();
      }
    });
  }

  /** Gives every committed event a cursor; answers once done (or the store failed). */
  async flush(): Promise<void> {
    this.sequenceSoon();
    while (this.running !== null) await this.running;
  }

  private async sequence(): Promise<void> {
    // Never inside the caller's turn: on SQLite the listener runs as its transaction ends.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const n = await this.db.tx(() => sequenceEvents(this.db.dialect, SEQUENCE_BATCH));
        if (n > 0) for (const fn of this.listeners) fn();
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
      if (await this.db.read(() => hasUnsequenced())) this.sequenceSoon();
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
   * Deletes events older than `before` (in cursor order, see pruneEvents); answers how many
   * batches (rows).
   */
  async prune(before: number): Promise<number> {
    let deleted = 0;
    while (!this.stopped) {
      const n = await this.db.tx(() => pruneEvents(this.db.dialect, before, PRUNE_BATCH));
      deleted += n;
      if (n < PRUNE_BATCH) break;
    }
    if (deleted > 0) this.log.debug({ batches: deleted }, "old events deleted");
    return deleted;
  }
}
